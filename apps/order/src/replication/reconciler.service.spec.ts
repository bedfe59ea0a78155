import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { CatalogTradeRecord, CatalogTradesPage, IdempotencyRefusal, OrderEnv, ReplicaRefusal, ReplicaRole, validateEnv } from '@app/contracts';
import { DomainError, openInMemorySqlite, Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { ORDER_MIGRATIONS } from '../migrations';
import { Order } from '../orders/order.entity';
import { DiskHealthService } from '../orders/disk-health.service';
import { OrderLogService } from '../orders/order-log.service';
import { ReplicaMeta } from '../orders/replica-meta.entity';
import { ReconcilerService } from './reconciler.service';
import { ReplicatorService } from './replicator.service';

type AppendAsLeader = ClusterStateService['appendAsLeader'];

const trade = (seq: number, over: Partial<CatalogTradeRecord> = {}): CatalogTradeRecord => ({
  seq,
  request_id: `req-${seq}`,
  stock_name: `Stock${(seq % 10) + 1}`,
  type: seq % 2 ? 'buy' : 'SELL',
  quantity: seq,
  ...over,
});

/**
 * Replica 1 leading epoch 2. The order log is a real OrderLogService on in-memory SQLite; the
 * cluster state is a small fake whose appendAsLeader appends through that log as the real one
 * does (appendNew under the lock), and whose commit point follows the log unless a test sets it;
 * the catalog is an array of applied trades behind a fake PeersClient.
 */
describe('ReconcilerService (every trade the catalog applied ends up in the order log)', () => {
  let db: DataSource;
  let log: OrderLogService;
  let catalog: CatalogTradeRecord[];
  /** The `after` of every listing the catalog was asked for. */
  let listed: number[];
  let catalogDown: boolean;
  let state: { id: number; leaderId: number | null; role: ReplicaRole; epoch: number; readonly commitNo: number; appendAsLeader: jest.Mock<AppendAsLeader> };
  /** The commit point; unset: every entry of the log, as if a majority held each the moment it was appended. */
  let commitNo: number | undefined;
  let replicator: { kick: jest.Mock<() => void> };

  const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '1' })) as unknown as ConfigService<OrderEnv, true>;

  const appendThroughLog: AppendAsLeader = async (epoch, order) => {
    const [result] = await log.exclusive(() => log.appendNew([{ ...order, epoch }]));
    if (result instanceof Error) throw result;
    return result;
  };

  function reconciler(): ReconcilerService {
    const peers = {
      catalogTrades: async (after: number, limit: number): Promise<CatalogTradesPage> => {
        listed.push(after);
        if (catalogDown) throw new Error('connect ECONNREFUSED');
        return { trades: catalog.filter((t) => t.seq > after).slice(0, limit) };
      },
    } as unknown as PeersClient;
    return new ReconcilerService(state as unknown as ClusterStateService, log, peers, replicator as unknown as ReplicatorService, config);
  }

  /** The log's request ids in order-number order. */
  const logged = async () => (await log.page(0, 10_000)).map((o) => o.request_id);

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(async () => {
    db = await openInMemorySqlite([Order, ReplicaMeta], ORDER_MIGRATIONS);
    log = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, new DiskHealthService(config), config);
    await log.onModuleInit();
    catalog = [];
    listed = [];
    catalogDown = false;
    commitNo = undefined;
    state = {
      id: 1,
      leaderId: 1,
      role: 'leader',
      epoch: 2,
      get commitNo() {
        return commitNo ?? log.lastPosition().order_no;
      },
      appendAsLeader: jest.fn(appendThroughLog),
    };
    replicator = { kick: jest.fn() };
  });

  afterEach(async () => {
    log.onModuleDestroy();
    await db.destroy();
  });

  it('appends each applied trade missing from the log, in the catalog order, as an order of the current epoch', async () => {
    catalog = [trade(1), trade(2), trade(3), trade(4)];
    // Trade 2 was logged by the leader that placed it; 1, 3 and 4 were applied but never logged.
    await appendThroughLog(1, { request_id: 'req-2', stock_name: 'Stock3', trade_type: 'SELL', quantity: 2 });
    await expect(reconciler().runOnce()).resolves.toBe(3);
    expect(await logged()).toEqual(['req-2', 'req-1', 'req-3', 'req-4']);
    expect(await log.find(3)).toEqual(
      expect.objectContaining({ order_no: 3, epoch: 2, request_id: 'req-3', stock_name: 'Stock4', trade_type: 'buy', quantity: 3 }),
    );
    expect(await log.find(4)).toEqual(expect.objectContaining({ trade_type: 'SELL', quantity: 4 })); // the side as the client spelled it
    expect(state.appendAsLeader.mock.calls.map(([epoch, o]) => [epoch, o.request_id])).toEqual([
      [2, 'req-1'],
      [2, 'req-3'],
      [2, 'req-4'],
    ]);
    expect(log.getMeta('reconciled_seq')).toBe(4);
    expect(replicator.kick).toHaveBeenCalled();
  });

  it('records a trade once, not again on the next pass, nor by a reconciler that starts over from sequence 0', async () => {
    catalog = [trade(1), trade(2)];
    const first = reconciler();
    await expect(first.runOnce()).resolves.toBe(2);
    await expect(first.runOnce()).resolves.toBe(0);
    expect(listed).toEqual([0, 2]); // the second pass lists only what came after the reconciled point
    await log.updateMeta({ reconciled_seq: 0 });
    replicator.kick.mockClear();
    await expect(reconciler().runOnce()).resolves.toBe(0);
    expect(await logged()).toEqual(['req-1', 'req-2']);
    expect(state.appendAsLeader).toHaveBeenCalledTimes(2);
    expect(replicator.kick).not.toHaveBeenCalled();
  });

  it('records each trade once when two passes run at the same time', async () => {
    catalog = [trade(1), trade(2), trade(3)];
    const r = reconciler();
    const counts = await Promise.all([r.runOnce(), r.runOnce()]);
    expect(counts[0] + counts[1]).toBe(3);
    expect(state.appendAsLeader).toHaveBeenCalledTimes(3); // the passes ran one after the other
    expect(await logged()).toEqual(['req-1', 'req-2', 'req-3']);
  });

  it('reads the catalog in pages of 500 and keeps the catalog order across them', async () => {
    catalog = Array.from({ length: 1003 }, (_, i) => trade(i + 1));
    await expect(reconciler().runOnce()).resolves.toBe(1003);
    expect(listed).toEqual([0, 500, 1000]);
    expect(await logged()).toEqual(catalog.map((t) => t.request_id));
    expect(log.getMeta('reconciled_seq')).toBe(1003);
  });

  it('does nothing unless this replica leads (or is promoting to lead) the current epoch', async () => {
    catalog = [trade(1)];
    state.role = 'follower';
    await expect(reconciler().runOnce()).resolves.toBe(0);
    state.role = 'leader';
    state.leaderId = 2;
    await expect(reconciler().runOnce()).resolves.toBe(0);
    expect(listed).toEqual([]);
    state.leaderId = 1;
    state.role = 'promoting';
    await expect(reconciler().runOnce()).resolves.toBe(1);
  });

  it('on the interval, does nothing while promoting (a leader named again in a newer epoch, before its catch-up from a majority)', async () => {
    const r = reconciler();
    catalog = [trade(1)];
    await r.runOnce('settled'); // listed once: settled for the next pass
    state.role = 'promoting';
    state.epoch = 2;
    await expect(r.runOnce('settled')).resolves.toBe(0);
    expect(await logged()).toEqual([]);
    state.role = 'leader';
    await expect(r.runOnce('settled')).resolves.toBe(1);
    expect(state.appendAsLeader.mock.calls.map(([epoch]) => epoch)).toEqual([2]);
  });

  it('stops between pages once it no longer leads', async () => {
    catalog = Array.from({ length: 700 }, (_, i) => trade(i + 1));
    state.appendAsLeader.mockImplementation(async (epoch, order) => {
      if (order.request_id === 'req-500') state.role = 'follower'; // deposed while the first page was being recorded
      return appendThroughLog(epoch, order);
    });
    await expect(reconciler().runOnce()).resolves.toBe(500);
    expect(listed).toEqual([0]);
    expect(log.getMeta('reconciled_seq')).toBe(500);
    expect(await log.count()).toBe(500);
  });

  it('on the interval, records only trades an earlier pass already listed (one being placed right now is not missing yet)', async () => {
    const r = reconciler();
    catalog = [trade(1), trade(2)];
    await expect(r.runOnce('settled')).resolves.toBe(0); // 1–2 seen for the first time
    expect(log.getMeta('reconciled_seq')).toBe(0);
    catalog.push(trade(3));
    await expect(r.runOnce('settled')).resolves.toBe(2); // 1–2 settled; 3 only seen
    expect(await logged()).toEqual(['req-1', 'req-2']);
    expect(log.getMeta('reconciled_seq')).toBe(2);
    await expect(r.runOnce('settled')).resolves.toBe(1);
    expect(await logged()).toEqual(['req-1', 'req-2', 'req-3']);
    expect(log.getMeta('reconciled_seq')).toBe(3);
  });

  it('does not move the reconciled point past a trade it failed to record, and records it on a later pass', async () => {
    catalog = [trade(1), trade(2), trade(3)];
    state.appendAsLeader.mockImplementation(async (epoch, order) => {
      if (order.request_id === 'req-2') throw new Unavailable('replica 1 no longer leads epoch 2', ReplicaRefusal.notLeader);
      return appendThroughLog(epoch, order);
    });
    const r = reconciler();
    await expect(r.runOnce()).rejects.toMatchObject({ status: 503, code: ReplicaRefusal.notLeader });
    expect(log.getMeta('reconciled_seq')).toBe(0);
    expect(await logged()).toEqual(['req-1']);
    state.appendAsLeader.mockImplementation(appendThroughLog);
    await expect(r.runOnce()).resolves.toBe(2);
    expect(await logged()).toEqual(['req-1', 'req-2', 'req-3']);
  });

  it('passes over a trade whose request id the log holds for another trade (key_reused) and goes on with the rest', async () => {
    catalog = [trade(1), trade(2), trade(3)];
    state.appendAsLeader.mockImplementation(async (epoch, order) => {
      if (order.request_id === 'req-2') throw new DomainError(422, 'Idempotency-Key req-2 was used for a different request', IdempotencyRefusal.keyReused);
      return appendThroughLog(epoch, order);
    });
    await expect(reconciler().runOnce()).resolves.toBe(2);
    expect(await logged()).toEqual(['req-1', 'req-3']);
    expect(log.getMeta('reconciled_seq')).toBe(3);
  });

  it('moves the reconciled point only over trades whose orders are committed, and on once the commit point passes them', async () => {
    catalog = [trade(1), trade(2), trade(3)];
    // 1 is committed; 2 was placed by the trade path a moment ago, not yet on a majority; 3 has no order.
    await appendThroughLog(2, { request_id: 'req-1', stock_name: 'Stock2', trade_type: 'buy', quantity: 1 });
    await appendThroughLog(2, { request_id: 'req-2', stock_name: 'Stock3', trade_type: 'SELL', quantity: 2 });
    commitNo = 1;
    const r = reconciler();
    await expect(r.runOnce()).resolves.toBe(1);
    expect(await logged()).toEqual(['req-1', 'req-2', 'req-3']);
    expect(log.getMeta('reconciled_seq')).toBe(1);
    await expect(r.runOnce()).resolves.toBe(0); // nothing committed meanwhile: it stays
    expect(log.getMeta('reconciled_seq')).toBe(1);
    commitNo = 3;
    await expect(r.runOnce('settled')).resolves.toBe(0);
    expect(log.getMeta('reconciled_seq')).toBe(3);
    expect(listed).toEqual([0, 1, 1]); // the catalog never heard of a point past an uncommitted order
    expect(state.appendAsLeader).toHaveBeenCalledTimes(1); // req-3, once
  });

  it('does not list the next page while one of this page\'s orders is above the commit point (its `after` would tell the catalog to forget)', async () => {
    catalog = Array.from({ length: 700 }, (_, i) => trade(i + 1));
    commitNo = 499;
    const r = reconciler();
    await expect(r.runOnce()).resolves.toBe(500);
    expect(listed).toEqual([0]);
    expect(log.getMeta('reconciled_seq')).toBe(499);
    commitNo = undefined;
    await expect(r.runOnce()).resolves.toBe(200); // 500 found logged, 501–700 recorded
    expect(listed).toEqual([0, 499]);
    expect(log.getMeta('reconciled_seq')).toBe(700);
  });

  it('a leader cut off from the others records a catalog trade but does not reconcile past it: it records it again once its log lost it', async () => {
    catalog = [trade(1)];
    commitNo = 0; // deposed without knowing it: nothing it appends reaches a majority
    const r = reconciler();
    await expect(r.runOnce()).resolves.toBe(1);
    await expect(r.runOnce('settled')).resolves.toBe(0);
    expect(log.getMeta('reconciled_seq')).toBe(0);
    expect(listed).toEqual([0, 0]);
    // It steps down: its catch-up drops the uncommitted tail (as CatchUpService and SyncService do).
    await log.exclusive(() => log.truncateFrom(1, 0));
    expect(await logged()).toEqual([]);
    // Elected again (epoch 4), its promotion records the trade the catalog applied.
    state.epoch = 4;
    commitNo = undefined;
    await expect(r.runOnce()).resolves.toBe(1);
    expect(await log.find(1)).toEqual(expect.objectContaining({ epoch: 4, request_id: 'req-1' }));
    expect(log.getMeta('reconciled_seq')).toBe(1);
  });

  it('fails the pass when the catalog cannot be read, changing nothing', async () => {
    catalog = [trade(1)];
    catalogDown = true;
    await expect(reconciler().runOnce()).rejects.toThrow('ECONNREFUSED');
    expect(await log.count()).toBe(0);
    expect(log.getMeta('reconciled_seq')).toBe(0);
  });
});
