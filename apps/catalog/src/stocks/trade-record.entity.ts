import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type TradeOutcome = 'ok' | 'refused';

/**
 * Every trade the catalog decided, keyed by request id: a repeated id returns the recorded
 * outcome without trading again, and the order leader lists applied trades (`seq` order) to
 * make sure each one ends up in the order log.
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
}
