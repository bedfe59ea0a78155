import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Mutex } from 'async-mutex';
import { IdempotencyRefusal, OrderEnv } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { OrderLogService } from '../orders/order-log.service';
import { ReplicatorService } from './replicator.service';

const PAGE = 500;

/**
 * Keeps the catalog and the order log in step. A trade the catalog applied must end up in the
 * log even when the leader that made it crashed before storing it and no retry ever comes. The
 * leader lists the catalog's applied trades after the last reconciled sequence number and
 * appends every one whose request id is not in the log. Runs at promotion and then on an interval.
 *
 * Matching is by request id, whatever its age: request ids are unique in the log and at the
 * catalog forever (a client key reused past its retention gets a derived request id, see
 * TradeService), so the idempotency-key window plays no part here. The `after` of each listing
 * also tells the catalog how far it may forget trade records (see the catalog's TradeRetentionService).
 */
@Injectable()
export class ReconcilerService {
  private readonly logger = new Logger(ReconcilerService.name);
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private readonly running = new Mutex();
  /** Highest catalog sequence number listed so far (by any pass). */
  private seenThrough = 0;

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly replicator: ReplicatorService,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.intervalMs = config.get('RECONCILE_INTERVAL_MS', { infer: true });
  }

  start(): void {
    this.stop();
    this.timer = setInterval(
      () => void this.runOnce('settled').catch((e: Error) => this.logger.warn(`reconciliation: ${e.message}`)),
      this.intervalMs,
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One pass; returns how many missing orders were recorded. Throws when the catalog cannot be read.
   *
   * At promotion (`all`) every applied trade is considered: the previous leader is gone, nothing
   * of its is still in flight here. On the interval (`settled`) only trades already listed by the
   * previous pass are: a trade this leader is placing right now has been applied by the catalog a
   * moment before its order is appended, and must not be "found missing" in that moment.
   */
  runOnce(scope: 'all' | 'settled' = 'all'): Promise<number> {
    return this.running.runExclusive(async () => {
      let recorded = 0;
      let after = this.log.getMeta('reconciled_seq');
      const settledThrough = scope === 'all' ? Number.MAX_SAFE_INTEGER : this.seenThrough;
      for (;;) {
        const epoch = this.state.epoch;
        if (this.state.leaderId !== this.state.id || !['leader', 'promoting'].includes(this.state.role)) return recorded;
        const { trades } = await this.peers.catalogTrades(after, PAGE);
        if (trades.length > 0) this.seenThrough = Math.max(this.seenThrough, trades[trades.length - 1].seq);
        const settled = trades.filter((t) => t.seq <= settledThrough);
        const logged = await this.log.findByRequestIds(settled.map((t) => t.request_id));
        for (const t of settled) {
          if (logged.has(t.request_id)) continue;
          const appended = await this.state
            .appendAsLeader(epoch, { request_id: t.request_id, stock_name: t.stock_name, trade_type: t.type, quantity: t.quantity })
            .catch((err: unknown) => {
              // A request id the log holds for another trade (key_reused) cannot be: the catalog binds ids
              // to their trade too. Should it happen, say so and go on rather than stall every later trade.
              if ((err as { code?: unknown }).code !== IdempotencyRefusal.keyReused) throw err;
              this.logger.error(`catalog trade ${t.seq} (${t.request_id}) differs from the order logged under its request id`);
              return undefined;
            });
          if (!appended) continue;
          const { record, created } = appended;
          if (created) {
            recorded++;
            this.logger.warn(`recorded order ${record.order_no} for catalog trade ${t.seq} (${t.request_id}) that had no order`);
          }
        }
        if (settled.length > 0) {
          after = settled[settled.length - 1].seq;
          await this.log.updateMeta({ reconciled_seq: after });
        }
        if (recorded > 0) this.replicator.kick();
        if (trades.length < PAGE || settled.length < trades.length) return recorded;
      }
    });
  }
}
