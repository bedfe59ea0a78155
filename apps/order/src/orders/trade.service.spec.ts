import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import {
  BatchItemResult,
  CatalogTradeDto,
  IdempotencyRefusal,
  KEY_REUSED_STATUS,
  OrderEnv,
  OrderRecordDto,
  REQUEST_ID_PATTERN,
  ReplicaRefusal,
  ReplicaTradeDto,
  tradeFingerprint,
  validateEnv,
} from '@app/contracts';
import { openInMemorySqlite } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderMetrics } from '../metrics/order.metrics';
import { ORDER_MIGRATIONS } from '../migrations';
import { LeadershipService } from '../replication/leadership.service';
import { ReplicatorService } from '../replication/replicator.service';
import { DiskHealthService } from './disk-health.service';
import { DamagedEntry, NewOrder, OrderLogService } from './order-log.service';
import { Order } from './order.entity';
import { ReplicaMeta } from './replica-meta.entity';
import { derivedRequestId, TradeService } from './trade.service';

describe('derivedRequestId (a key reused past its retention window)', () => {
  it('is a valid request id, the same on every retry, and new for each reuse', () => {
    const a = derivedRequestId('k'.repeat(128), 7);
    expect(REQUEST_ID_PATTERN.test(a)).toBe(true);
    expect(derivedRequestId('k'.repeat(128), 7)).toBe(a);
    expect(derivedRequestId('k'.repeat(128), 8)).not.toBe(a);
    expect(derivedRequestId('other', 7)).not.toBe(a);
    expect(derivedRequestId('k', 7)).not.toBe('k');
  });
});

/** A catalog with the real one's idempotency rules: a request id is bound to its trade until the id is forgotten. */
class FakeCatalog {
  /** Fingerprint of the trade each remembered request id made. */
  readonly records = new Map<string, string>();
  /** Every trade asked for, by request id, and how many shares actually moved. */
  readonly asked: string[] = [];
  moved = 0;

  trade(t: CatalogTradeDto): BatchItemResult {
    this.asked.push(t.request_id!);
    const fingerprint = tradeFingerprint({ stock_name: t.stock_name, trade_type: t.type, quantity: t.quantity });
    const recorded = this.records.get(t.request_id!);
    if (recorded !== undefined) {
      if (recorded === fingerprint) return { status: 200, message: 'replayed' };
      return { status: KEY_REUSED_STATUS, message: 'reused', code: IdempotencyRefusal.keyReused };
    }
    this.records.set(t.request_id!, fingerprint);
    this.moved += t.quantity;
    return { status: 200, message: 'traded' };
  }
}

/**
 * Replica 1 leading epoch 2, with a retention window of one minute. The order log is a real
 * OrderLogService on in-memory SQLite, its key filter filled (as after a start); appendAsLeader
 * appends through it as the real one does (appendNew under the lock); every order is durable at
 * once; the catalog is a {@link FakeCatalog} behind a fake PeersClient.
 */
describe('TradeService (an idempotency key reused past its window)', () => {
  const RETENTION_MS = 60_000;
  const env = validateEnv(OrderEnv, { ORDER_ID: '1', IDEMPOTENCY_RETENTION_MS: String(RETENTION_MS) });
  const config = new ConfigService(env) as unknown as ConfigService<OrderEnv, true>;
  const K = 'client-key-1';
  const X = { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 };
  const Y = { ...X, quantity: 2 };
  const Z = { ...X, quantity: 5 };
  /** Appended this long ago, an entry's key is past its window. */
  const LONG_AGO = Date.now() - 10 * RETENTION_MS;

  let db: DataSource;
  let log: OrderLogService;
  let catalog: FakeCatalog;
  let durableWaits: number[];
  let trades: TradeService;

  const appendAsLeader: ClusterStateService['appendAsLeader'] = async (epoch, order, numbered) => {
    const [result] = await log.exclusive(() => log.appendNew([{ ...order, epoch }]));
    if (result instanceof Error) throw result;
    numbered?.(result.record);
    return result;
  };

  /** An entry as a leader of epoch 1 logged it, `created_at` when it was appended. */
  const logged = (order: Omit<NewOrder, 'epoch'>) => appendAsLeader(1, order).then(({ record }) => record);
  const trade = (body: typeof X) => trades.trade({ ...body, request_id: K, epoch: 2 } as ReplicaTradeDto);
  const entries = () => log.page(0, 100);
  const sharesLogged = async () => (await entries()).reduce((sum, o) => sum + o.quantity, 0);

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(async () => {
    db = await openInMemorySqlite([Order, ReplicaMeta], ORDER_MIGRATIONS);
    log = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, new DiskHealthService(config), config);
    await log.onModuleInit();
    await log.fillKeyFilter();
    catalog = new FakeCatalog();
    durableWaits = [];
    const state = { appendAsLeader } as unknown as ClusterStateService;
    const leadership = { assertLeading: async () => undefined } as unknown as LeadershipService;
    const replicator = {
      ensureQuorum: async () => undefined,
      waitDurable: async (orderNo: number) => void durableWaits.push(orderNo),
    } as unknown as ReplicatorService;
    const peers = { catalogTrade: async (t: CatalogTradeDto) => catalog.trade(t) } as unknown as PeersClient;
    const faults = { reached: () => undefined } as unknown as FaultInjector;
    const metrics = { ordersPlaced: { inc: () => undefined } } as unknown as OrderMetrics;
    trades = new TradeService(log, state, leadership, replicator, peers, faults, metrics, config);
  });

  afterEach(async () => {
    log.onModuleDestroy();
    await db.destroy();
  });

  /**
   * K made order 1; past its window K was reused for Y, traded under D1 = derived(K, 1), and that
   * order was recorded by reconciliation (its leader crashed after the catalog traded it): order 2,
   * under D1 alone, without K. `reconciledAt`: when reconciliation appended it.
   */
  async function reconciledReuse(reconciledAt: number): Promise<OrderRecordDto> {
    await logged({ request_id: K, ...X, created_at: LONG_AGO });
    const d1 = derivedRequestId(K, 1);
    catalog.records.set(d1, tradeFingerprint(Y));
    return logged({ request_id: d1, ...Y, created_at: reconciledAt });
  }

  it.each([
    ['another trade', Z],
    ['the same trade as the reconciled use', Y],
  ])('a reuse past the window of a use that reconciliation logged is a new trade derived from that use (%s)', async (_, body) => {
    await reconciledReuse(LONG_AGO);
    catalog.records.clear(); // past retention, the catalog forgot D1 too
    await expect(trade(body)).resolves.toMatchObject({ order_no: 3 });
    const d2 = derivedRequestId(K, 2);
    expect(catalog.asked).toEqual([d2]); // not D1 again: the catalog would trade it anew while the log holds D1 as order 2
    expect(await log.find(3)).toEqual(expect.objectContaining({ request_id: d2, idempotency_key: K, quantity: body.quantity }));
    expect(await sharesLogged()).toBe(1 + 2 + catalog.moved); // X and Y before, and what the catalog moved now: in step
  });

  it('inside the window of a reconciled use, the same trade is answered with its order and another is refused 422, neither reaching the catalog', async () => {
    await reconciledReuse(Date.now());
    await expect(trade(Y)).resolves.toEqual({ order_no: 2 });
    expect(durableWaits).toEqual([2]);
    await expect(trade(Z)).rejects.toMatchObject({ status: KEY_REUSED_STATUS, code: IdempotencyRefusal.keyReused });
    expect(catalog.asked).toEqual([]);
    expect(await log.count()).toBe(2);
  });

  it('follows the chain of a key\'s uses through uses logged by key and by reconciliation alike', async () => {
    await logged({ request_id: K, ...X, created_at: LONG_AGO });
    await logged({ request_id: derivedRequestId(K, 1), ...Y, created_at: LONG_AGO }); // reconciled: no key
    await logged({ request_id: derivedRequestId(K, 2), idempotency_key: K, ...X, created_at: LONG_AGO }); // the trade path's
    await logged({ request_id: derivedRequestId(K, 3), ...Z, created_at: LONG_AGO }); // reconciled again
    await expect(trade(Y)).resolves.toMatchObject({ order_no: 5 });
    expect(catalog.asked).toEqual([derivedRequestId(K, 4)]);
    // Its retry finds order 5 by its key (it carries K), inside its window.
    await expect(trade(Y)).resolves.toEqual({ order_no: 5 });
    expect(catalog.asked).toHaveLength(1);
  });

  it('a refusal that reads as "before trading" but comes after the catalog traded is given as after_trading, and the retry trades nothing again', async () => {
    // The append's request-id check reads an entry that no longer matches its checksum (503 not_ready).
    jest.spyOn(log, 'appendNew').mockRejectedValueOnce(new DamagedEntry(7, 'order-1.sqlite'));
    await expect(trade(X)).rejects.toMatchObject({ status: 503, code: ReplicaRefusal.afterTrading, message: expect.stringContaining('may have gone through') });
    expect(catalog.moved).toBe(1);
    // The front end's retry, with the same key: the catalog answers the recorded outcome, the log takes it once.
    await expect(trade(X)).resolves.toMatchObject({ order_no: 1 });
    expect(catalog.moved).toBe(1);
    expect(await log.count()).toBe(1);
  });

  it('a refusal before the catalog is reached passes unchanged', async () => {
    await logged({ request_id: K, ...X, created_at: Date.now() });
    await db.query('UPDATE "orders" SET "quantity" = 99 WHERE "order_no" = 1'); // changed on disk: no longer matches its checksum
    await expect(trade(X)).rejects.toMatchObject({ status: 503, code: ReplicaRefusal.notReady });
    expect(catalog.asked).toEqual([]);
  });

  it('a retry of a key the trade path logged looks up no derived request id when the key filter rules it out', async () => {
    await expect(trade(X)).resolves.toMatchObject({ order_no: 1 });
    const byRequestId = jest.spyOn(log, 'findByRequestIds');
    await expect(trade(X)).resolves.toEqual({ order_no: 1 });
    expect(log.mayHoldKey(derivedRequestId(K, 1))).toBe(false);
    expect(byRequestId).not.toHaveBeenCalled();
    expect(catalog.asked).toEqual([K]);
  });
});
