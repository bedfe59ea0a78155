import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Mutex } from 'async-mutex';
import { CatalogTradeRecord, IdempotencyRefusal, OrderEnv } from '@app/contracts';
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
 * TradeService), so the idempotency-key window plays no part here. An order recorded here has no
 * client key, only the request id (TradeService.newestUse finds a derived one by it). The `after`
 * of each listing also tells the catalog how far it may forget trade records (see the catalog's
 * TradeRetentionService): it moves only over trades whose orders are committed ({@link committedThrough}).
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
   *
   * The reconciled point (`reconciled_seq`, and so the `after` the catalog is asked with) moves
   * only over trades whose orders are committed, see {@link committedThrough}; a pass ends at the
   * first trade whose order is not, and a later pass goes on from there once it is. At promotion
   * that is the page holding the inherited entries above the commit point or the orders just
   * recorded (usually the last: a follower keeps the leader's point from its syncs); a page after
   * it is recorded by the passes on the interval, after the leader has begun taking trades — a
   * retry of one of its trades meanwhile gets the catalog's outcome by request id, as ever.
   */
  runOnce(scope: 'all' | 'settled' = 'all'): Promise<number> {
    return this.running.runExclusive(async () => {
      let recorded = 0;
      let after = this.log.getMeta('reconciled_seq');
      const settledThrough = scope === 'all' ? Number.MAX_SAFE_INTEGER : this.seenThrough;
      // The pass at promotion runs while promoting, once the catch-up is over. A pass on the
      // interval runs only while leading: a leader named again in a newer epoch is promoting until
      // it has caught up from a majority, and a pass then would append at its next numbers, under
      // the new stamp, orders the majority may hold at those numbers already (another leader's,
      // elected in between), and make its own log look the most advanced to its catch-up.
      const roles: readonly string[] = scope === 'all' ? ['leader', 'promoting'] : ['leader'];
      for (;;) {
        const epoch = this.state.epoch;
        if (this.state.leaderId !== this.state.id || !roles.includes(this.state.role)) return recorded;
        const { trades } = await this.peers.catalogTrades(after, PAGE);
        if (trades.length > 0) this.seenThrough = Math.max(this.seenThrough, trades[trades.length - 1].seq);
        const settled = trades.filter((t) => t.seq <= settledThrough);
        const page = await this.recordMissing(epoch, settled);
        recorded += page.recorded;
        const through = committedThrough(settled, page.orderNos, after, this.state.commitNo);
        if (through > after) {
          after = through;
          await this.log.updateMeta({ reconciled_seq: after });
        }
        if (recorded > 0) this.replicator.kick();
        const allCommitted = settled.length === 0 || through === settled[settled.length - 1].seq;
        if (trades.length < PAGE || settled.length < trades.length || !allCommitted) return recorded;
      }
    });
  }

  /**
   * Appends, as leader of `epoch`, an order for each of these trades that the log lacks (by request
   * id). Gives how many it appended and, per trade, the number of the order that holds it (0 for
   * one passed over, below).
   */
  private async recordMissing(epoch: number, trades: CatalogTradeRecord[]): Promise<{ recorded: number; orderNos: number[] }> {
    let recorded = 0;
    const logged = await this.log.findByRequestIds(trades.map((t) => t.request_id));
    const orderNos: number[] = [];
    for (const t of trades) {
      const found = logged.get(t.request_id);
      if (found) {
        orderNos.push(found.order_no);
        continue;
      }
      const appended = await this.state
        .appendAsLeader(epoch, { request_id: t.request_id, stock_name: t.stock_name, trade_type: t.type, quantity: t.quantity })
        .catch((err: unknown) => {
          // A request id the log holds for another trade (key_reused) cannot be: the catalog binds ids
          // to their trade too. Should it happen, say so and go on rather than stall every later trade.
          if ((err as { code?: unknown }).code !== IdempotencyRefusal.keyReused) throw err;
          this.logger.error(`catalog trade ${t.seq} (${t.request_id}) differs from the order logged under its request id`);
          return undefined;
        });
      orderNos.push(appended?.record.order_no ?? 0);
      if (appended?.created) {
        recorded++;
        this.logger.warn(`recorded order ${appended.record.order_no} for catalog trade ${t.seq} (${t.request_id}) that had no order`);
      }
    }
    return { recorded, orderNos };
  }
}

/**
 * How far the reconciled point may move over a page: the sequence number of the last of `trades`
 * (oldest first) before the first whose order (`orderNos[i]`) is above the commit point — or
 * `after`, where it stands, when the first one is.
 *
 * The catalog takes each listing's `after` as "every trade up to here has its order" and may then
 * forget those trade records once their window is over; a promotion reconciles from the point, and
 * a follower takes the leader's in its syncs. An order above the commit point may still be dropped:
 * a leader cut off from the other replicas (deposed, not knowing it yet) can still reach the
 * catalog and reconcile into its own log, and its catch-up later truncates those entries (nothing
 * lowers the point). Had the point gone past them, the catalog could forget those trades and no
 * leader would list them again: a trade applied and never logged. A committed order is on a
 * majority and never dropped, and a leader that cannot commit never moves the point. The pass does
 * not wait for the commit point (a stale leader's never comes, and a promotion must not hang on
 * it): the next pass, on the interval, lists those trades again, finds their orders logged and,
 * once committed, moves on.
 */
export function committedThrough(trades: CatalogTradeRecord[], orderNos: number[], after: number, commitNo: number): number {
  let through = after;
  for (const [i, t] of trades.entries()) {
    if (orderNos[i] > commitNo) break;
    through = t.seq;
  }
  return through;
}
