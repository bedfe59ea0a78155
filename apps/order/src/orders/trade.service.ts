import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash } from 'node:crypto';
import {
  DERIVED_REQUEST_ID_PREFIX,
  BatchItemResult,
  CatalogMessages,
  IdempotencyRefusal,
  KEY_REUSED_STATUS,
  keyReusedMessage,
  MAX_TRADE_BATCH,
  OrderEnv,
  OrderRecordDto,
  REFUSED_BEFORE_TRADING,
  ReplicaRefusal,
  ReplicaTradeBatchDto,
  ReplicaTradeDto,
  sameTradeRequest,
  StockInfo,
  withinRetention,
} from '@app/contracts';
import { Batcher, batchResults, definiteRefusal, DomainError, resultWithReason, Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderMetrics } from '../metrics/order.metrics';
import { LeadershipService } from '../replication/leadership.service';
import { ReplicatorService } from '../replication/replicator.service';
import { NewOrder, OrderLogService } from './order-log.service';

/**
 * The leader's trade path, exactly once per request id:
 * 1. refuse fast (503) if too few replicas are reachable to make the order durable;
 * 2. trade at the catalog with the request id (a retry gets the recorded outcome instead of
 *    trading twice);
 * 3. append the order with the next number — or, for a request id already in the log (a retry),
 *    take its entry — replicate it, and acknowledge once durable, with the stock as the catalog
 *    answered it (the front end may cache it: see VersionedLruCache.offer).
 *
 * Idempotency keys are bound to their request (as in Stripe's API) for `IDEMPOTENCY_RETENTION_MS`
 * from the order's append: before step 2, the key is looked up in the log. Inside its window, the
 * same trade is answered with its order (the catalog traded it: an order is only ever logged for
 * an applied trade), and another trade is refused 422 `key_reused`, untraded. Past its window the
 * key is forgotten: the request is a new trade, under a request id derived from the key and the
 * order that last used it ({@link derivedRequestId}), so that the catalog and the log, which keep
 * request ids unique forever, see a new id — the same one on every retry, at any leader.
 * Concurrent trades share the hops: one catalog request and one log transaction per batch
 * (see {@link PeersClient.catalogTrade} and {@link ClusterStateService.appendAsLeader}).
 */
@Injectable()
export class TradeService {
  private readonly logger = new Logger(TradeService.name);
  private readonly retentionMs: number;
  /** Key lookups of concurrent trades share one query. */
  private readonly keyLookups = new Batcher<string, OrderRecordDto | null>(
    async (keys) => {
      const found = await this.log.newestByKeys([...new Set(keys)]);
      return keys.map((k) => found.get(k) ?? null);
    },
    { maxBatch: MAX_TRADE_BATCH, maxInFlight: 4 },
  );

  constructor(
    private readonly log: OrderLogService,
    private readonly state: ClusterStateService,
    private readonly leadership: LeadershipService,
    private readonly replicator: ReplicatorService,
    private readonly peers: PeersClient,
    private readonly faults: FaultInjector,
    private readonly metrics: OrderMetrics,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.retentionMs = config.get('IDEMPOTENCY_RETENTION_MS', { infer: true });
  }

  /** `requestId`: the HTTP request's, carried to the catalog. */
  async trade(dto: ReplicaTradeDto, requestId?: string): Promise<Placed> {
    await this.leadership.assertLeading(dto.epoch);
    await this.replicator.ensureQuorum();
    const key = dto.request_id;
    // A new key (nearly every trade's) is ruled out from memory, without a query or a turn of the event loop.
    const previous = this.log.mayHoldKey(key) ? await this.newestUse(key) : null;
    let tradeId = key;
    if (previous) {
      if (withinRetention(previous.created_at ?? Date.now(), Date.now(), this.retentionMs)) {
        if (!sameTradeRequest(previous, dto)) throw keyReused(key);
        // Logged, so the catalog applied it: the retry is answered with its order, once durable.
        await this.replicator.waitDurable(previous.order_no);
        return { order_no: previous.order_no };
      }
      tradeId = derivedRequestId(key, previous.order_no);
    }
    const stock = await this.tradeAtCatalog({ ...dto, request_id: tradeId }, requestId, key);
    this.faults.reached('after-catalog-trade');
    try {
      const record = await this.appendOrder(dto.epoch, {
        request_id: tradeId,
        ...(tradeId !== key ? { idempotency_key: key } : {}),
        stock_name: dto.stock_name,
        trade_type: dto.trade_type,
        quantity: dto.quantity,
      });
      await this.replicator.waitDurable(record.order_no);
      this.metrics.ordersPlaced.inc();
      return { order_no: record.order_no, ...(stock ? { stock } : {}) };
    } catch (err) {
      throw failedAfterTrading(err);
    }
  }

  /**
   * The order that used client key `key` last, if any. A key's uses form a chain: the first has the
   * key as its request id, each later one the id derived from the key and the use before it
   * ({@link derivedRequestId}). The key column finds every use the trade path logged, but a use that
   * reconciliation recorded (its leader crashed after the catalog traded it, or the catalog's answer
   * came too late) holds only its derived request id. So the chain is followed on from the newest
   * use found by key, by request id, until the id derived from the newest use is not in the log.
   * Without that, a reconciled use would never count: the key's window would run from the use
   * before it, and every later reuse would send the reconciled use's id to the catalog again — which
   * trades it again once the catalog has forgotten that id, while the log answers with the old order
   * or 422 (catalog and log out of step for good).
   *
   * Only a key the log may hold gets here (a retry or a reuse, not a new trade), and each link's id
   * is ruled out from memory by the key filter unless it is probably logged: a query per link found.
   * Not under the log lock, like the key lookup: a link being appended meanwhile was traded just now
   * (by the trade path or reconciliation), so the use before it is past its window and the request
   * id derived from it is that link's own — the catalog answers that trade's outcome (or 422 for
   * another trade) and {@link OrderLogService.appendNew}, which checks request ids under the lock,
   * gives its entry: the answer the whole chain would have given.
   */
  private async newestUse(key: string): Promise<OrderRecordDto | null> {
    let newest = await this.keyLookups.submit(key);
    while (newest) {
      const next = derivedRequestId(key, newest.order_no);
      if (!this.log.mayHoldKey(next)) return newest;
      const found = (await this.log.findByRequestIds([next])).get(next);
      // A link is appended after the use it is derived from: its number is higher (the chain ends).
      if (!found || found.order_no <= newest.order_no) return newest;
      newest = found;
    }
    return null;
  }

  /**
   * Appends the order as leader and gives its entry as soon as it is numbered and sent to the
   * followers, not once this replica's own write is over: with the default majority, two followers
   * that have it durable acknowledge it while that write is still under way (Raft's rule; the
   * commit tracker counts this replica's copy only once written). Should that write fail after
   * all, the entry is withdrawn and the leader steps down, which refuses the trades still waiting
   * for durability (503, retried by the front end with the same key); one that a majority already
   * holds stays acknowledged, and the next leader has it. An order found in the log already (a
   * retry) is given once the append is over.
   */
  private appendOrder(epoch: number, order: Omit<NewOrder, 'epoch'>): Promise<OrderRecordDto> {
    return new Promise<OrderRecordDto>((resolve, reject) => {
      this.state.appendAsLeader(epoch, order, resolve).then(({ record }) => {
        this.faults.reached('after-local-commit');
        resolve(record);
      }, reject);
    });
  }

  /** Trades forwarded together by the front end: each handled as {@link trade} would, one result each. */
  tradeBatch(batch: ReplicaTradeBatchDto, requestId?: string): Promise<BatchItemResult[]> {
    return batchResults(
      batch.trades.map((t) =>
        this.trade({ ...t, epoch: batch.epoch }, requestId).then((placed): BatchItemResult => ({ status: 200, ...placed }), resultWithReason),
      ),
      (result) => result,
    );
  }

  /** The trade at the catalog; resolves with its stock as the catalog answered it, when it did. */
  private async tradeAtCatalog(dto: ReplicaTradeDto, requestId: string | undefined, key: string): Promise<StockInfo | undefined> {
    let status: number;
    let message: string | undefined;
    let reason: string | undefined;
    let stock: StockInfo | undefined;
    try {
      ({ status, message, reason, stock } = await this.peers.catalogTrade({
        stock_name: dto.stock_name,
        type: dto.trade_type,
        quantity: dto.quantity,
        request_id: dto.request_id,
      }, requestId));
    } catch (err) {
      // The catalog may or may not have traded: the front end retries with the same request id.
      throw new Unavailable(`catalog unreachable: ${(err as Error).message}`, ReplicaRefusal.catalogUnavailable);
    }
    if (status === 200) return stock;
    const definite = definiteRefusal(status, { message, reason }, CATALOG_REFUSALS);
    if (definite) throw definite;
    // The catalog holds this request id for another trade: nothing was traded.
    if (status === KEY_REUSED_STATUS) throw keyReused(key);
    throw new Unavailable(`catalog answered ${status}${message ? `: ${message}` : ''}`, ReplicaRefusal.catalogUnavailable);
  }
}

/**
 * A failure after the catalog traded, as the front end must read it: one whose code names a refusal
 * given only before trading (an entry of the log found damaged while the append checks request ids
 * answers `not_ready`) is given as {@link ReplicaRefusal.afterTrading}, so that the front end's
 * last answer, if it comes to one, says the trade may have gone through. Others pass unchanged.
 */
export function failedAfterTrading(err: unknown): unknown {
  if (!(err instanceof DomainError) || err.status < 500 || err.code === undefined) return err;
  if (!(REFUSED_BEFORE_TRADING as readonly string[]).includes(err.code)) return err;
  return new Unavailable(`${err.message} (after the catalog traded: the trade may have gone through)`, ReplicaRefusal.afterTrading);
}

/** A placed order's number, and its stock as the catalog committed it (not for a retry of a logged order). */
export interface Placed {
  order_no: number;
  stock?: StockInfo;
}

/** The catalog's definite refusals, passed on to the front end (a 409 with the catalog's reason). */
const CATALOG_REFUSALS = { notFound: CatalogMessages.stockNotFound, refused: CatalogMessages.tradeFailed, invalid: 'invalid trade' };

/** 422 `key_reused`: the key names another trade (see tradeFingerprint); nothing is traded. */
function keyReused(key: string): DomainError {
  return new DomainError(KEY_REUSED_STATUS, keyReusedMessage(key), IdempotencyRefusal.keyReused);
}

/**
 * The request id of a trade whose key was last used by order `previousOrderNo`, past its retention
 * window: a new id the catalog and the log have not seen, the same for every retry of this request
 * (it depends only on the key and the log, which every leader shares), and valid as a request id.
 */
export function derivedRequestId(key: string, previousOrderNo: number): string {
  return `${DERIVED_REQUEST_ID_PREFIX}${createHash('sha256').update(`${key}\n${previousOrderNo}`).digest('hex')}`;
}
