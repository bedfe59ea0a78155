import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { CommonEnv, IdempotencyRefusal, keyReusedMessage, OrderEnv, orderChecksum, OrderRecordDto, ReplicaRole, validateEnv } from '@app/contracts';
import { DomainError, InvalidInput, sqliteOptions, SqlitePragmas } from '@app/common';
import { ORDER_MIGRATIONS } from '../migrations';
import { Order } from './order.entity';
import { DiskHealthService } from './disk-health.service';
import { CommittedEntryConflict, DamagedEntry, lookupVerdict, NewOrder, OrderLogService, VouchingState } from './order-log.service';
import { ReplicaMeta } from './replica-meta.entity';

/** A replica whose log ends at 10, with 7 committed. */
const replica = (role: ReplicaRole, over: Partial<VouchingState> = {}): VouchingState => ({
  role,
  commitNo: 7,
  lastNo: 10,
  durableNo: 10,
  ackByLeaderAlone: false,
  ...over,
});

describe('lookupVerdict: a replica answers an order lookup only when it can vouch for the answer', () => {
  it('a settled leader serves committed orders, refuses appended but unacknowledged ones, and says 404 beyond its log', () => {
    const leader = replica('leader');
    expect(lookupVerdict(1, leader)).toBe('serve');
    expect(lookupVerdict(7, leader)).toBe('serve'); // at the commit point
    expect(lookupVerdict(8, leader)).toBe('cannot_vouch'); // above it: not acknowledged, may be dropped and renumbered
    expect(lookupVerdict(10, leader)).toBe('cannot_vouch'); // its last order, still not committed
    expect(lookupVerdict(11, leader)).toBe('absent'); // beyond the last order: it holds every acknowledged one
    expect(lookupVerdict(99999, leader)).toBe('absent');
  });

  it('a settled leader whose log is all committed serves through its last order', () => {
    const leader = replica('leader', { commitNo: 10 });
    expect(lookupVerdict(10, leader)).toBe('serve');
    expect(lookupVerdict(11, leader)).toBe('absent');
  });

  it('a leader still promoting (catching up) serves committed orders but never says 404', () => {
    const promoting = replica('promoting');
    expect(lookupVerdict(7, promoting)).toBe('serve');
    expect(lookupVerdict(8, promoting)).toBe('cannot_vouch');
    expect(lookupVerdict(10, promoting)).toBe('cannot_vouch');
    expect(lookupVerdict(11, promoting)).toBe('cannot_vouch');
    expect(lookupVerdict(99999, promoting)).toBe('cannot_vouch');
  });

  it.each<ReplicaRole>(['follower', 'recovering'])('a %s serves up to its commit point and never says 404', (role) => {
    const follower = replica(role);
    expect(lookupVerdict(1, follower)).toBe('serve');
    expect(lookupVerdict(7, follower)).toBe('serve');
    expect(lookupVerdict(8, follower)).toBe('cannot_vouch');
    expect(lookupVerdict(10, follower)).toBe('cannot_vouch');
    expect(lookupVerdict(11, follower)).toBe('cannot_vouch');
  });

  it('a follower whose commit point was learnt beyond its log (it is behind) serves only what it holds', () => {
    const behind = replica('follower', { commitNo: 20, lastNo: 10 });
    expect(lookupVerdict(10, behind)).toBe('serve');
    expect(lookupVerdict(11, behind)).toBe('cannot_vouch');
  });

  it('an empty replica: a settled leader says 404, anyone else cannot vouch', () => {
    const empty = { commitNo: 0, lastNo: 0 };
    expect(lookupVerdict(1, replica('leader', empty))).toBe('absent');
    for (const role of ['promoting', 'follower', 'recovering'] as const) expect(lookupVerdict(1, replica(role, empty))).toBe('cannot_vouch');
  });

  it('ORDER_ACK_MODE=leader: a settled leader acknowledges its whole log, so it serves it; the others still go by the commit point', () => {
    const ack = { ackByLeaderAlone: true };
    expect(lookupVerdict(10, replica('leader', ack))).toBe('serve');
    expect(lookupVerdict(11, replica('leader', ack))).toBe('absent');
    expect(lookupVerdict(8, replica('promoting', ack))).toBe('cannot_vouch');
    expect(lookupVerdict(8, replica('follower', ack))).toBe('cannot_vouch');
    expect(lookupVerdict(7, replica('follower', ack))).toBe('serve');
    // Sent to the followers but not yet on its own disk: not acknowledged yet.
    expect(lookupVerdict(10, replica('leader', { ...ack, durableNo: 9 }))).toBe('cannot_vouch');
    expect(lookupVerdict(9, replica('leader', { ...ack, durableNo: 9 }))).toBe('serve');
  });
});

/**
 * The order log on a real SQLite file in a temporary directory, opened as the app opens it: the
 * app's TypeORM options (WAL, migrations run at start, its sqlite3 driver) and `PRAGMA synchronous`.
 * A restart is a new data source and a new service on the same file.
 */
describe('OrderLogService on a real SQLite file', () => {
  let dir: string;
  const open: DataSource[] = [];
  const logs: OrderLogService[] = [];

  async function start(env: Record<string, string> = {}): Promise<{ log: OrderLogService; db: DataSource; disk: DiskHealthService }> {
    const options = await sqliteOptions(dir, 'order-1.sqlite', ORDER_MIGRATIONS);
    const db = new DataSource({ ...options, entities: [Order, ReplicaMeta] } as DataSourceOptions);
    await db.initialize();
    open.push(db);
    const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '1', ...env }));
    await new SqlitePragmas(db, config as unknown as ConfigService<CommonEnv, true>).onModuleInit();
    const orderConfig = config as unknown as ConfigService<OrderEnv, true>;
    const disk = new DiskHealthService(orderConfig);
    const log = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, disk, orderConfig);
    await log.onModuleInit();
    logs.push(log);
    return { log, db, disk };
  }

  /** Closes the database (as a crash or stop would) and opens the same file again. */
  async function restart(db: DataSource, env: Record<string, string> = {}): Promise<{ log: OrderLogService; db: DataSource; disk: DiskHealthService }> {
    await db.destroy();
    return start(env);
  }

  const entry = (order_no: number, epoch = 1, tag = 'r'): OrderRecordDto => ({
    order_no,
    epoch,
    request_id: `${tag}-${order_no}`,
    stock_name: `Stock${(order_no % 10) + 1}`,
    trade_type: order_no % 2 ? 'buy' : 'sell',
    quantity: order_no,
    created_at: 1_700_000_000_000 + order_no,
  });
  const order = (request_id: string, over: Partial<NewOrder> = {}): NewOrder => ({
    epoch: 1,
    request_id,
    stock_name: 'Stock1',
    trade_type: 'buy',
    quantity: 5,
    ...over,
  });
  /** Every row of the file, read with SQL rather than through the service. */
  const rows = async (db: DataSource) =>
    (await db.query(`SELECT "order_no", "epoch", "request_id", "idempotency_key" FROM "orders" ORDER BY "order_no"`)) as {
      order_no: number;
      epoch: number;
      request_id: string;
      idempotency_key: string | null;
    }[];
  const created = (r: { record: OrderRecordDto; created: boolean } | Error) => {
    if (r instanceof Error) throw r;
    return r;
  };

  beforeAll(() => Logger.overrideLogger(false)); // SqlitePragmas reports the pragmas of every file it opens
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'order-log-'))));
  afterEach(async () => {
    for (const log of logs.splice(0)) log.onModuleDestroy();
    for (const db of open.splice(0)) if (db.isInitialized) await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens the file as the app does: WAL journal, synchronous FULL, every migration applied', async () => {
    const { db } = await start();
    expect(await db.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]); // 2 = FULL
    const columns = ((await db.query(`PRAGMA table_info("orders")`)) as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['order_no', 'epoch', 'request_id', 'idempotency_key', 'created_at', 'checksum']));
  });

  describe('numbering and continuity', () => {
    it('starts empty at position 0 and appends entries that continue the log', async () => {
      const { log, db } = await start();
      expect(log.lastPosition()).toEqual({ order_no: 0, epoch: 0 });
      await log.append([entry(1), entry(2)]);
      await log.append([entry(3, 2)]);
      expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 2 });
      expect(await log.page(0, 10)).toEqual([entry(1), entry(2), entry(3, 2)]);
      expect((await rows(db)).map((r) => r.order_no)).toEqual([1, 2, 3]);
    });

    it('refuses a batch that leaves a gap, repeats a number or skips one inside it, and writes none of it', async () => {
      const { log, db } = await start();
      await log.append([entry(1), entry(2)]);
      await expect(log.append([entry(4)])).rejects.toThrow('log must continue at 3, got 4');
      await expect(log.append([entry(2, 1, 'again')])).rejects.toThrow('log must continue at 3, got 2');
      await expect(log.append([entry(3), entry(5)])).rejects.toThrow('log must continue at 4, got 5');
      expect(log.lastPosition()).toEqual({ order_no: 2, epoch: 1 });
      expect((await rows(db)).map((r) => r.order_no)).toEqual([1, 2]);
      expect(await log.find(3)).toBeNull();
      await log.append([entry(3)]); // the right next number is still accepted
      expect(log.lastPosition().order_no).toBe(3);
    });

    it('writes metadata with the entries, and writes nothing when nothing changes', async () => {
      const { log, db } = await start();
      await log.append([entry(1)], { commit_no: 1, epoch: 4 });
      expect([log.getMeta('commit_no'), log.getMeta('epoch'), log.getMeta('leader')]).toEqual([1, 4, 0]);
      expect(await db.query(`SELECT "key", "value" FROM "replica_meta" ORDER BY "key"`)).toEqual([
        { key: 'commit_no', value: 1 },
        { key: 'epoch', value: 4 },
      ]);
      await log.append([], { commit_no: 1 });
      await log.append([]);
      expect(await log.count()).toBe(1);
    });

    it('runs exclusive sections one at a time, in the order they were asked for', async () => {
      const { log } = await start();
      const steps: string[] = [];
      const section = (name: string) => async () => {
        steps.push(`${name} in`);
        await new Promise((r) => setImmediate(r));
        steps.push(`${name} out`);
      };
      await Promise.all([log.exclusive(section('a')), log.exclusive(section('b')), log.exclusive(section('c'))]);
      expect(steps).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
    });
  });

  describe('a write the disk refuses', () => {
    it('fails with 503 disk_failing, changes nothing in memory, and is marked until a write succeeds again', async () => {
      const { log, db, disk } = await start();
      await log.append([entry(1)], { commit_no: 1 });
      const failures: string[] = [];
      disk.failed$.subscribe((message) => failures.push(message));
      await db.query('PRAGMA query_only = 1'); // every write now fails with SQLITE_READONLY
      await expect(log.append([entry(2)], { commit_no: 2 })).rejects.toMatchObject({ status: 503, code: 'disk_failing' });
      expect(await log.appendNew([order('k1')]).catch((e: unknown) => e)).toMatchObject({ status: 503, code: 'disk_failing' });
      expect(log.lastPosition()).toEqual({ order_no: 1, epoch: 1 });
      expect(log.getMeta('commit_no')).toBe(1);
      expect(await log.find(2)).toBeNull();
      expect(disk.isFailing).toBe(true);
      expect(failures.length).toBeGreaterThan(0);
      await db.query('PRAGMA query_only = 0');
      await log.append([entry(2)]);
      expect(disk.isFailing).toBe(false);
      expect(log.lastPosition().order_no).toBe(2);
    });
  });

  describe('appendNew (the leader assigns numbers; request ids are idempotent)', () => {
    it('numbers new orders after the last entry, in the order given, and says they were created', async () => {
      const { log } = await start();
      await log.append([entry(1), entry(2)]);
      const results = (await log.appendNew([order('a', { epoch: 3 }), order('b', { epoch: 3, created_at: 42 })], { commit_no: 2 })).map(created);
      expect(results.map((r) => [r.record.order_no, r.record.request_id, r.record.epoch, r.created])).toEqual([
        [3, 'a', 3, true],
        [4, 'b', 3, true],
      ]);
      expect(results[1].record.created_at).toBe(42); // a time given by the caller is kept
      expect(results[0].record.created_at).toEqual(expect.any(Number));
      expect(log.lastPosition()).toEqual({ order_no: 4, epoch: 3 });
      expect(log.getMeta('commit_no')).toBe(2);
      expect(await log.find(4)).toEqual(results[1].record);
    });

    it('answers a request id already in the log with its entry (created: false) and appends nothing, in any letter case of the side', async () => {
      const { log, db } = await start();
      const [first] = (await log.appendNew([order('k1', { trade_type: 'Buy' })])).map(created);
      const published = jest.fn();
      const [again] = (await log.appendNew([order('k1', { trade_type: 'BUY' })], {}, published)).map(created);
      expect(again).toEqual({ record: first.record, created: false });
      expect(published).not.toHaveBeenCalled(); // nothing new to publish
      expect(again.record.trade_type).toBe('Buy'); // the first spelling is the one kept
      expect((await rows(db)).map((r) => r.request_id)).toEqual(['k1']);
    });

    it('refuses, for that order alone, a request id the log holds for another trade (422 key_reused); the rest of the batch goes on without a gap', async () => {
      const { log, db } = await start();
      await log.appendNew([order('k1', { quantity: 5 })]);
      const results = await log.appendNew([order('n1'), order('k1', { quantity: 6 }), order('k1', { quantity: 5 }), order('n2')]);
      const refusal = results[1];
      expect(refusal).toBeInstanceOf(DomainError);
      expect(refusal).toMatchObject({ status: 422, code: IdempotencyRefusal.keyReused, message: keyReusedMessage('k1') });
      expect([results[0], results[2], results[3]].map(created).map((r) => [r.record.request_id, r.record.order_no, r.created])).toEqual([
        ['n1', 2, true],
        ['k1', 1, false],
        ['n2', 3, true],
      ]);
      // Known request ids are found before numbering: no gap, nothing written twice.
      expect((await rows(db)).map((r) => [r.order_no, r.request_id])).toEqual([
        [1, 'k1'],
        [2, 'n1'],
        [3, 'n2'],
      ]);
      expect(log.lastPosition().order_no).toBe(3);
    });

    it('publishes new entries before writing them (replication sends them meanwhile); they count as durable once written', async () => {
      const { log, db, disk } = await start();
      await log.append([entry(1)]);
      // Hold the next write until the entries are seen published.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const track = disk.track.bind(disk);
      disk.track = async <T>(write: () => Promise<T>): Promise<T> => {
        disk.track = track;
        await held;
        return track(write);
      };
      const seen: string[] = [];
      log.leaderAppends$.subscribe((event) => seen.push(`${event}: last ${log.lastPosition().order_no}, durable ${log.durableLastNo()}`));
      // The caller hears the numbers at once too (a trade then waits for a majority, not for this write).
      let heard: unknown;
      const appending = log.appendNew([order('a')], {}, (results) => (heard = results));
      while (seen.length === 0) await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['published: last 2, durable 1']);
      expect(heard).toEqual([{ record: expect.objectContaining({ order_no: 2, request_id: 'a' }), created: true }]);
      expect(await log.page(1, 10)).toEqual([expect.objectContaining({ order_no: 2, request_id: 'a' })]); // what a sync sends
      expect(await rows(db)).toHaveLength(1); // not on disk yet
      release();
      const [result] = (await appending).map(created);
      expect(seen).toEqual(['published: last 2, durable 1', 'written: last 2, durable 2']);
      expect(await log.find(2)).toEqual(result.record);
      expect(await rows(db)).toHaveLength(2);
    });

    it('withdraws entries it published when their write fails, and says so (the leader must not reuse their numbers)', async () => {
      const { log, db } = await start();
      await log.append([entry(1)], { commit_no: 1 });
      const events: string[] = [];
      log.leaderAppends$.subscribe((event) => events.push(event));
      log.unwritten$.subscribe((message) => events.push(`unwritten: ${message}`));
      await db.query('PRAGMA query_only = 1');
      await expect(log.appendNew([order('a'), order('b')], { commit_no: 1 })).rejects.toMatchObject({ status: 503, code: 'disk_failing' });
      expect(events).toEqual(['published', expect.stringMatching(/^unwritten: orders 2–3 were sent before their write failed/)]);
      expect(log.lastPosition()).toEqual({ order_no: 1, epoch: 1 });
      expect(log.durableLastNo()).toBe(1);
      expect(await log.find(2)).toBeNull();
      expect(await log.page(1, 10)).toEqual([]);
      await db.query('PRAGMA query_only = 0');
      expect(created((await log.appendNew([order('c')]))[0]).record.order_no).toBe(2);
    });

    it('names the client key in the refusal when the request id was derived from it', async () => {
      const { log } = await start();
      await log.appendNew([order('k1#2', { idempotency_key: 'k1' })]);
      const [refusal] = await log.appendNew([order('k1#2', { idempotency_key: 'k1', stock_name: 'Stock2' })]);
      expect(refusal).toMatchObject({ status: 422, message: keyReusedMessage('k1') });
    });

    it('treats a request id repeated inside one batch like one already logged', async () => {
      const { log, db } = await start();
      const results = await log.appendNew([order('d'), order('d', { trade_type: 'BUY' }), order('d', { trade_type: 'sell' })]);
      expect(created(results[0])).toMatchObject({ created: true, record: { order_no: 1 } });
      expect(created(results[1])).toEqual({ record: created(results[0]).record, created: false });
      expect(results[2]).toMatchObject({ status: 422, code: IdempotencyRefusal.keyReused });
      expect(await rows(db)).toHaveLength(1);
    });

    it('recognises request ids from before a restart (the database, not memory, decides)', async () => {
      const first = await start();
      const [original] = (await first.log.appendNew([order('k1')])).map(created);
      const { log } = await restart(first.db);
      expect(created((await log.appendNew([order('k1')]))[0])).toEqual({ record: original.record, created: false });
      expect(await log.appendNew([order('k1', { quantity: 7 })])).toEqual([expect.objectContaining({ status: 422 })]);
      expect(created((await log.appendNew([order('k2')]))[0]).record.order_no).toBe(2);
    });

    it('stores the client key only when it differs from the request id', async () => {
      const { log, db } = await start();
      const results = (await log.appendNew([order('plain', { idempotency_key: 'plain' }), order('k#2', { idempotency_key: 'k' })])).map(created);
      expect(results[0].record).not.toHaveProperty('idempotency_key');
      expect(results[1].record.idempotency_key).toBe('k');
      expect((await rows(db)).map((r) => r.idempotency_key)).toEqual(['plain', 'k']); // the column always holds the key
    });
  });

  describe('newestByKeys and findByRequestIds', () => {
    it('finds, for each client key, its newest entry: the request id itself or one derived from it', async () => {
      const { log } = await start();
      await log.appendNew([order('k'), order('other'), order('k#2', { idempotency_key: 'k' }), order('x#2', { idempotency_key: 'x' })]);
      await log.appendNew([order('k#3', { idempotency_key: 'k' })]);
      const found = await log.newestByKeys(['k', 'other', 'x', 'missing']);
      expect([...found.keys()].sort()).toEqual(['k', 'other', 'x']);
      expect(found.get('k')).toMatchObject({ order_no: 5, request_id: 'k#3', idempotency_key: 'k' });
      expect(found.get('other')).toMatchObject({ order_no: 2, request_id: 'other' });
      expect(found.get('x')).toMatchObject({ order_no: 4, request_id: 'x#2' });
      // The raw query gives the very entries the log's other reads do.
      expect(found.get('other')).toEqual(await log.find(2));
      expect(found.get('k')).toEqual(await log.find(5));
      expect((await log.newestByKeys([])).size).toBe(0);
    });

    it('finds entries by their exact request id only', async () => {
      const { log } = await start();
      await log.appendNew([order('a'), order('a#2', { idempotency_key: 'a' }), order("it's")]);
      const found = await log.findByRequestIds(['a', 'a#2', 'b', "it's", "b' OR '1'='1"]);
      expect([...found.entries()].map(([id, r]) => [id, r.order_no])).toEqual([
        ['a', 1],
        ['a#2', 2],
        ["it's", 3],
      ]);
    });
  });

  describe('the key filter (a key the log lacks is ruled out from memory)', () => {
    /** Counts the queries the log sends to SQLite's connection. */
    const countQueries = (db: DataSource) => {
      const connection = (db.driver as unknown as { databaseConnection: { all: (...args: unknown[]) => unknown } }).databaseConnection;
      return jest.spyOn(connection, 'all');
    };

    it('is filled only once the check at start is over (both read the whole file, and the replica waits for the check)', async () => {
      const first = await start();
      await first.log.append([1, 2, 3].map((n) => entry(n)));
      const { log } = await restart(first.db);
      await new Promise((r) => setTimeout(r, 50));
      expect(log.keyFilterReady).toBe(false);
      await log.exclusive(() => log.verifyChecksums()); // as recovery calls it, under the lock
      for (let i = 0; i < 200 && !log.keyFilterReady; i++) await new Promise((r) => setTimeout(r, 10));
      expect(log.keyFilterReady).toBe(true);
      expect(log.mayHoldKey('r-2')).toBe(true);
    });

    it('is filled from the log at start, over several pages; then only keys it may hold are queried, and every logged one is found', async () => {
      const first = await start();
      const entries = Array.from({ length: 12_000 }, (_, i) => ({ ...entry(i + 1), ...(i % 1000 === 0 ? { request_id: `d-${i}`, idempotency_key: `k-${i}` } : {}) }));
      for (let i = 0; i < entries.length; i += 2000) await first.log.append(entries.slice(i, i + 2000));
      const { log, db } = await restart(first.db);
      await log.fillKeyFilter();
      expect(log.keyFilterReady).toBe(true);
      const all = countQueries(db);
      expect(await log.newestByKeys(['new-1', 'new-2'])).toEqual(new Map());
      expect(await log.findByRequestIds(['new-3'])).toEqual(new Map());
      expect(log.mayHoldKey('new-4')).toBe(false);
      expect(all).not.toHaveBeenCalled();
      // Every request id and client key from before the restart is still found, from the first page to the last.
      const ids = entries.map((e) => e.request_id);
      expect((await log.findByRequestIds(ids)).size).toBe(ids.length);
      const found = await log.newestByKeys(['k-0', 'k-11000', 'r-2', 'r-12000']);
      expect(Object.fromEntries([...found].map(([k, r]) => [k, r.order_no]))).toEqual({ 'k-0': 1, 'k-11000': 11001, 'r-2': 2, 'r-12000': 12000 });
      expect(all).toHaveBeenCalledTimes(2);
    });

    it('knows a key from the moment its entry is appended, and keeps knowing it after a failed write (it only costs a query)', async () => {
      const { log, db, disk } = await start();
      await log.fillKeyFilter();
      await log.appendNew([order('k1'), order('k2#2', { idempotency_key: 'k2' })]);
      expect([...(await log.newestByKeys(['k1', 'k2', 'k3'])).keys()].sort()).toEqual(['k1', 'k2']);
      // A write that fails: the log lacks the entry, and the lookup, asked of the database, says so.
      const failing = jest.spyOn(disk, 'track').mockRejectedValueOnce(new Error('disk I/O error'));
      await expect(log.appendNew([order('lost')])).rejects.toThrow('disk I/O error');
      failing.mockRestore();
      expect(log.mayHoldKey('lost')).toBe(true);
      const all = countQueries(db);
      expect(await log.newestByKeys(['lost'])).toEqual(new Map());
      expect(all).toHaveBeenCalledTimes(1);
    });

    it('misses no entry whose write was in flight when a fill began (it begins under the log lock)', async () => {
      const { log } = await start({ ORDER_COMMIT_DELAY_MS: '300' });
      await log.fillKeyFilter();
      // As the leader appends: under the lock. The write waits 300 ms before it commits.
      const writing = log.exclusive(() => log.appendNew([order('in-flight')]));
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([writing, log.fillKeyFilter()]);
      expect(log.keyFilterReady).toBe(true);
      expect([...(await log.newestByKeys(['in-flight'])).keys()]).toEqual(['in-flight']);
    });
  });

  describe('restamp (the same orders, stamped with a newer leader\'s epoch)', () => {
    it('changes only the stamps, in memory and on disk, the last position included, and keeps them across a restart', async () => {
      const first = await start();
      await first.log.append([entry(1), entry(2), entry(3), entry(4)], { commit_no: 2 });
      const before = await first.log.page(0, 10);
      expect(await first.log.restamp([{ order_no: 2, epoch: 3 }, { order_no: 4, epoch: 3 }])).toBe(2);
      // The entries handed out before keep what they were (a sync in flight sends what it read).
      expect(before.map((e) => e.epoch)).toEqual([1, 1, 1, 1]);
      const expected = [entry(1), entry(2, 3), entry(3), entry(4, 3)];
      expect(await first.log.page(0, 10)).toEqual(expected);
      expect(await first.log.find(4)).toEqual(entry(4, 3));
      expect(first.log.lastPosition()).toEqual({ order_no: 4, epoch: 3 });
      expect(first.log.getMeta('commit_no')).toBe(2);
      const { log } = await restart(first.db);
      expect(log.lastPosition()).toEqual({ order_no: 4, epoch: 3 });
      expect(await log.page(0, 10)).toEqual(expected);
      expect(await log.restamp([])).toBe(0);
    });
  });

  describe('truncateFrom (dropping an unacknowledged tail; committed entries are never dropped)', () => {
    it('drops the entries from that number on and moves the last position back; numbering continues after the cut', async () => {
      const first = await start();
      await first.log.append([entry(1), entry(2), entry(3), entry(4, 2), entry(5, 2)], { commit_no: 2 });
      expect(await first.log.truncateFrom(3)).toBe(3);
      expect(first.log.lastPosition()).toEqual({ order_no: 2, epoch: 1 });
      expect(first.log.getMeta('commit_no')).toBe(2);
      expect(await first.log.find(3)).toBeNull(); // gone from memory too
      expect(await first.log.page(0, 10)).toEqual([entry(1), entry(2)]);
      await first.log.append([entry(3, 3, 'new')]);
      const { log } = await restart(first.db);
      expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 3 });
      expect(await log.page(0, 10)).toEqual([entry(1), entry(2), entry(3, 3, 'new')]);
    });

    it('refuses (503) to drop an entry at or below the commit point, and drops nothing', async () => {
      const { log, db } = await start();
      await log.append([entry(1), entry(2), entry(3), entry(4), entry(5)], { commit_no: 3 });
      for (const from of [3, 1]) {
        const err = await log.truncateFrom(from).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CommittedEntryConflict);
        expect(err).toMatchObject({ status: 503, code: 'not_ready' });
      }
      expect(log.lastPosition()).toEqual({ order_no: 5, epoch: 1 });
      expect((await rows(db)).map((r) => r.order_no)).toEqual([1, 2, 3, 4, 5]);
      expect(await log.truncateFrom(4)).toBe(2);
    });

    it('also refuses below a commit point the caller knows of that is not persisted yet (a leader)', async () => {
      const { log } = await start();
      await log.append([entry(1), entry(2), entry(3), entry(4), entry(5)], { commit_no: 2 });
      await expect(log.truncateFrom(4, 4)).rejects.toBeInstanceOf(CommittedEntryConflict);
      await expect(log.truncateFrom(5, 4)).resolves.toBe(1);
      await expect(log.truncateFrom(2, 0)).rejects.toBeInstanceOf(CommittedEntryConflict); // the persisted point still counts
      expect(log.lastPosition().order_no).toBe(4);
    });

    it('drops nothing past the end, even below a commit point learnt beyond the log', async () => {
      const { log } = await start();
      await log.append([entry(1), entry(2), entry(3)], { commit_no: 9 });
      expect(await log.truncateFrom(4)).toBe(0);
      expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 1 });
      expect(log.getMeta('commit_no')).toBe(9);
    });
  });

  describe('after a restart (a new service on the same file)', () => {
    it('restores the last position and the metadata, and serves from the database what it served from memory', async () => {
      const first = await start();
      await first.log.append([entry(1), entry(2), entry(3, 2)], { epoch: 2, leader: 3, commit_no: 2 });
      await first.log.updateMeta({ reconciled_seq: 17 });
      const [derived] = (await first.log.appendNew([order('k#2', { epoch: 2, idempotency_key: 'k' })])).map(created);
      const before = await first.log.page(0, 10);
      const beforeFind = await Promise.all([1, 4, 5].map((n) => first.log.find(n)));
      const { log } = await restart(first.db);
      expect(log.lastPosition()).toEqual({ order_no: 4, epoch: 2 });
      expect((['epoch', 'leader', 'commit_no', 'reconciled_seq'] as const).map((k) => log.getMeta(k))).toEqual([2, 3, 2, 17]);
      expect(await log.page(0, 10)).toEqual(before);
      expect(await Promise.all([1, 4, 5].map((n) => log.find(n)))).toEqual(beforeFind);
      expect(beforeFind[1]).toEqual(derived.record);
      expect(await log.count()).toBe(4);
    });

    it('starts empty on a new file', async () => {
      const { log } = await start();
      expect(log.lastPosition()).toEqual({ order_no: 0, epoch: 0 });
      expect(log.getMeta('commit_no')).toBe(0);
      expect(await log.page(0, 10)).toEqual([]);
    });
  });

  describe('checksums (a file changed or damaged on disk after the write)', () => {
    const withSum = (e: OrderRecordDto): OrderRecordDto => ({ ...e, checksum: orderChecksum(e) });
    /** Entries 1–3 with checksums (a leader's), written, then the service restarted so that reads come from the file. */
    async function written(): Promise<{ log: OrderLogService; db: DataSource }> {
      const first = await start();
      await first.log.append([withSum(entry(1)), withSum(entry(2)), withSum(entry(3))], { commit_no: 3 });
      return restart(first.db);
    }

    it('the leader sets each new entry\'s checksum, kept on disk and served with the entry', async () => {
      const first = await start();
      const [{ record }] = (await first.log.appendNew([order('k-1', { idempotency_key: 'k-1', created_at: 1_700_000_000_000 })])).map(created);
      expect(record.checksum).toBe(orderChecksum(record));
      const { log } = await restart(first.db);
      expect(await log.page(0, 5)).toEqual([record]);
      expect(await log.find(1)).toEqual(record);
      expect(await log.verifyChecksums()).toEqual([]);
    });

    it('an entry that does not match its checksum is refused on its way in (400), and nothing of its batch is written', async () => {
      const { log } = await start();
      await expect(log.append([withSum(entry(1)), { ...withSum(entry(2)), quantity: 99 }])).rejects.toThrow(
        new InvalidInput('order 2 does not match its checksum: it was changed on its way from the leader, and is not written'),
      );
      expect(log.lastPosition()).toEqual({ order_no: 0, epoch: 0 });
      await log.append([entry(1)]); // an entry without one (from a leader of before checksums) is taken
      expect(log.lastPosition().order_no).toBe(1);
    });

    it('a row changed on disk is found by the check at start, and never served: every read of it fails with 503 not_ready', async () => {
      const { log, db } = await written();
      await db.query('UPDATE "orders" SET "quantity" = 50 WHERE "order_no" = 2');
      const found: number[] = [];
      log.damaged$.subscribe((n) => found.push(n));
      expect(await log.verifyChecksums()).toEqual([2]);
      expect(log.damagedEntries()).toEqual([2]);
      const damaged = new DamagedEntry(2, log.dbFile);
      expect([damaged.status, damaged.code]).toEqual([503, 'not_ready']);
      await expect(log.page(0, 5)).rejects.toThrow(damaged);
      await expect(log.find(2)).rejects.toThrow(damaged);
      await expect(log.findByRequestIds(['r-2'])).rejects.toThrow(damaged);
      expect(await log.find(1)).toEqual(withSum(entry(1))); // the others are served
      expect(found).toEqual([2]); // announced once
    });

    it('a row changed while the replica runs is found by the first read of it from the file', async () => {
      const { log, db } = await written();
      const found: number[] = [];
      log.damaged$.subscribe((n) => found.push(n));
      await db.query('UPDATE "orders" SET "stock_name" = \'Stock9\' WHERE "order_no" = 3');
      await expect(log.page(2, 1)).rejects.toBeInstanceOf(DamagedEntry);
      expect(found).toEqual([3]);
      expect(log.damagedEntries()).toEqual([3]);
    });

    it('repair puts a committed copy back in place (its epoch stamp stays), and only a copy that matches its checksum', async () => {
      const { log, db } = await written();
      await db.query('UPDATE "orders" SET "quantity" = 50, "request_id" = \'forged\', "epoch" = 1 WHERE "order_no" = 2');
      await log.verifyChecksums();
      const copy = withSum(entry(2, 4)); // a peer's copy, stamped by a later leader
      await expect(log.repair({ ...copy, quantity: 51 })).rejects.toBeInstanceOf(InvalidInput);
      await expect(log.repair({ ...copy, checksum: undefined })).rejects.toBeInstanceOf(InvalidInput);
      await log.exclusive(() => log.repair(copy));
      expect(log.damagedEntries()).toEqual([]);
      expect(await log.find(2)).toEqual({ ...copy, epoch: 1 });
      expect(await log.findByRequestIds(['forged'])).toEqual(new Map());
      const { log: again } = await restart(db);
      expect(await again.verifyChecksums()).toEqual([]);
      expect(await again.page(0, 5)).toEqual([withSum(entry(1)), withSum(entry(2)), withSum(entry(3))]);
    });

    it('every entry of a read that does not match is noted; pageToCompare gives each as a damaged slot in place; a truncation forgets those it drops', async () => {
      const first = await start();
      await first.log.append([1, 2, 3, 4].map((n) => withSum(entry(n))), { commit_no: 1 });
      const { log, db } = await restart(first.db);
      await db.query('UPDATE "orders" SET "quantity" = 50 WHERE "order_no" IN (2, 4)');
      await expect(log.page(0, 10)).rejects.toThrow(new DamagedEntry(2, log.dbFile));
      expect(log.damagedEntries()).toEqual([2, 4]);
      expect(await log.pageToCompare(0, 10)).toEqual([withSum(entry(1)), { order_no: 2, damaged: true }, withSum(entry(3)), { order_no: 4, damaged: true }]);
      await log.exclusive(() => log.truncateFrom(4));
      expect(log.damagedEntries()).toEqual([2]);
    });

    it('an entry the in-memory tail still holds is written back from it (what was written, checked on its way in), whatever the peers', async () => {
      const { log, db } = await start();
      await log.append([1, 2, 3].map((n) => withSum({ ...entry(n), epoch: 2 })), { commit_no: 1 });
      await db.query('UPDATE "orders" SET "quantity" = 50, "epoch" = 1 WHERE "order_no" = 3');
      expect(await log.verifyChecksums()).toEqual([3]);
      expect(await log.exclusive(() => log.repairFromTail())).toEqual([3]);
      expect(log.damagedEntries()).toEqual([]);
      const { log: again } = await restart(db);
      expect(await again.verifyChecksums()).toEqual([]);
      expect(await again.find(3)).toEqual(withSum({ ...entry(3), epoch: 2 })); // its stamp too, as written
      expect(await again.exclusive(() => again.repairFromTail())).toEqual([]); // nothing in memory after a restart
    });

    it('vouches, at start, for every entry up to the first without a checksum or the first missing number; a truncation lowers that', async () => {
      const first = await start();
      await first.log.append([1, 2, 3, 4, 5, 6].map((n) => withSum(entry(n))), { commit_no: 2 });
      const { log, db } = await restart(first.db);
      expect(log.vouchedThrough()).toBe(0); // nothing until the check ran
      expect(log.checkedAtStart()).toBe(false); // the status's `checking_log`: 0 for want of knowing
      await log.verifyChecksums();
      expect(log.vouchedThrough()).toBe(6);
      expect(log.checkedAtStart()).toBe(true);
      expect(log.checkDurationMs()).toBeGreaterThanOrEqual(0);
      // A damaged entry is vouched for all the same: it is found, and put back from a committed copy.
      await db.query('UPDATE "orders" SET "quantity" = 50 WHERE "order_no" = 2');
      await db.query('UPDATE "orders" SET "checksum" = NULL WHERE "order_no" = 5');
      expect(await log.verifyChecksums()).toEqual([2]);
      expect(log.vouchedThrough()).toBe(4);
      await db.query('DELETE FROM "orders" WHERE "order_no" = 4');
      await log.verifyChecksums();
      expect(log.vouchedThrough()).toBe(3);
      await log.exclusive(() => log.truncateFrom(3, 0));
      expect(log.vouchedThrough()).toBe(2);
      await log.append([entry(3)]); // without a checksum: no further than before it
      expect(log.vouchedThrough()).toBe(2);
      await log.exclusive(() => log.truncateFrom(3, 0));
      // Written before checksums from the first entry on: nothing is vouched for.
      await db.query('UPDATE "orders" SET "checksum" = NULL WHERE "order_no" = 1');
      await log.verifyChecksums();
      expect(log.vouchedThrough()).toBe(0);
    });

    it('entries written since follow the vouched number while each carries a checksum, from a log checked or empty', async () => {
      const { log, db } = await start();
      await log.append([1, 2].map((n) => withSum(entry(n))));
      expect(log.vouchedThrough()).toBe(2);
      const [{ record }] = (await log.appendNew([order('k-3')])).map(created);
      expect([record.order_no, log.vouchedThrough()]).toEqual([3, 3]);
      await log.append([entry(4), withSum(entry(5))]); // one from a leader of before checksums: no further
      expect(log.vouchedThrough()).toBe(3);
      // A log not yet checked at start vouches for nothing, whatever it is sent.
      const { log: again } = await restart(db);
      await again.append([withSum(entry(6))]);
      expect(again.vouchedThrough()).toBe(0);
    });

    it('an entry that lost its checksum after the replica vouched for it (its file changed while it runs) is not served, and is put back', async () => {
      const { log, db } = await written();
      await log.verifyChecksums();
      await db.query('UPDATE "orders" SET "quantity" = 50, "checksum" = NULL WHERE "order_no" = 2');
      await expect(log.find(2)).rejects.toThrow(new DamagedEntry(2, log.dbFile));
      expect(log.damagedEntries()).toEqual([2]);
      await log.exclusive(() => log.repair(withSum(entry(2))));
      expect(await log.find(2)).toEqual(withSum(entry(2)));
    });

    it('entries written before checksums (none) are served as they are', async () => {
      const first = await start();
      await first.log.append([entry(1), entry(2)]);
      const { log, db } = await restart(first.db);
      await db.query('UPDATE "orders" SET "quantity" = 50 WHERE "order_no" = 2');
      expect(await log.verifyChecksums()).toEqual([]);
      expect((await log.find(2))?.quantity).toBe(50);
    });
  });

  it("a page that begins before the in-memory tail goes on from it where the file ends: a leader's entries still being written are served, not cut off", async () => {
    const first = await start();
    await first.log.append(Array.from({ length: 5 }, (_, i) => entry(i + 1)));
    // Restarted, its memory holds no entry; as leader it publishes 6–7, whose write is slow.
    const { log } = await restart(first.db, { ORDER_COMMIT_DELAY_MS: '300' });
    let publishedAt = 0;
    const writing = log.appendNew([order('k6', { epoch: 2 }), order('k7', { epoch: 2 })], {}, () => (publishedAt = log.lastPosition().order_no));
    await new Promise((r) => setTimeout(r, 50));
    expect([publishedAt, log.durableLastNo()]).toEqual([7, 5]);
    expect((await log.page(0, 10)).map((e) => e.order_no)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await log.page(3, 3)).map((e) => e.order_no)).toEqual([4, 5, 6]);
    await writing;
    expect((await log.page(0, 10)).map((e) => e.order_no)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('pages the same across the edge of the in-memory tail (4096 to 8192 of the newest entries) as from the database', async () => {
    const first = await start();
    // Past 8192 entries the tail is trimmed back to the newest 4096: numbers 4905–9000 here.
    const all = Array.from({ length: 9000 }, (_, i) => entry(i + 1));
    await first.log.append(all.slice(0, 8000));
    await first.log.append(all.slice(8000));
    const windows: [number, number][] = [[0, 3], [4800, 10], [4900, 10], [4903, 5], [4904, 3], [8990, 20], [9000, 5]];
    const fromLive = await Promise.all(windows.map(([after, limit]) => first.log.page(after, limit)));
    windows.forEach(([after, limit], i) => expect(fromLive[i]).toEqual(all.slice(after, after + limit)));
    expect(await first.log.find(1)).toEqual(all[0]);
    const { log } = await restart(first.db);
    expect(await Promise.all(windows.map(([after, limit]) => log.page(after, limit)))).toEqual(fromLive);
  });
});
