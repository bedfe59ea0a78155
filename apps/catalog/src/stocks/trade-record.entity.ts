import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { TradeRefusalReason, TradeRefusalReasonText } from '@app/contracts';

/**
 * How the catalog decided a trade: applied (`ok`), or refused — a buy of more shares than it
 * holds (`no_shares`), a sell past capacity (`capacity`), or `refused` in rows written before
 * the reason was recorded — or a stock it does not have (`unknown`, 404). A replayed request id
 * answers with its recorded outcome.
 */
export type TradeOutcome = 'ok' | 'refused' | 'no_shares' | 'capacity' | 'unknown';

/** The reason a refused outcome is answered with (none for rows from before reasons were kept). */
export const REFUSAL_REASONS: Record<Exclude<TradeOutcome, 'ok' | 'unknown'>, TradeRefusalReasonText | undefined> = {
  refused: undefined,
  no_shares: TradeRefusalReason.notEnoughShares,
  capacity: TradeRefusalReason.overCapacity,
};

/**
 * Every trade the catalog decided, keyed by request id: a repeated id for the same trade returns
 * the recorded outcome without trading again (for another trade: 422, see tradeFingerprint), and
 * the order leader lists applied trades (`seq` order) to make sure each one ends up in the order
 * log. Records past IDEMPOTENCY_RETENTION_MS are deleted by TradeRetentionService.
 */
@Entity('trades')
export class TradeRecord {
  @PrimaryGeneratedColumn()
  seq: number;

  @Index({ unique: true })
  @Column({ type: 'varchar', length: 128, name: 'request_id' })
  requestId: string;

  @Column({ type: 'varchar', length: 64, name: 'stock_name' })
  stockName: string;

  /** The trade type as the client spelled it (`Buy`, `SELL`, …). */
  @Column({ type: 'varchar', length: 8 })
  type: string;

  @Column('integer')
  quantity: number;

  @Column({ type: 'varchar', length: 8 })
  outcome: TradeOutcome;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  /**
   * When the trade was decided, in ms since the epoch: its request id is remembered at least
   * `IDEMPOTENCY_RETENTION_MS` from then (see TradeRetentionService).
   */
  @Column({ type: 'integer', name: 'created_at_ms', default: 0 })
  createdAtMs: number;
}
