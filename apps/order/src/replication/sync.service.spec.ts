import { jest } from '@jest/globals';
import { ConfigModule } from '@nestjs/config';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OrderEnv, orderChecksum, OrderRecordDto, ReplicaRefusal, validateEnv } from '@app/contracts';
import { InvalidInput, Unavailable } from '@app/common';
import { logEntry } from '@app/testkit/fixtures';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { ORDER_MIGRATIONS } from '../migrations';
import { Order } from '../orders/order.entity';
import { DiskHealthService } from '../orders/disk-health.service';
import { CommittedEntryConflict, OrderLogService } from '../orders/order-log.service';
import { ReplicaMeta } from '../orders/replica-meta.entity';
import { CatchUpService } from '../recovery/catch-up.service';
import { RecoveryService } from '../recovery/recovery.service';
import { SyncService } from './sync.service';


/** Replica 1 as a follower of replica 3, against a real in-memory SQLite log; the leader's log is an array. */
describe('SyncService (follower side of replication)', () => {
  let moduleRef: TestingModule;
  let sync: SyncService;
  let log: OrderLogService;
  let state: ClusterStateService;
  let leaderLog: OrderRecordDto[];
  /** The replica starts recovering; the first sync finds it a follower unless a test says otherwise. */
  let stayRecovering: boolean;
  /** Set: the leader's log cannot be read (it stopped answering). */
  let logUnreadable: Error | undefined;
  /** What the sync asked recovery to verify again (RecoveryService.reverify, tested on its own). */
  let reverified: CommittedEntryConflict[];

  beforeEach(async () => {
    leaderLog = [];
    logUnreadable = undefined;
    reverified = [];
    // What the sync relies on: the replica no longer follows once reverify returns.
    const recovery: Partial<RecoveryService> = {
      reverify: (conflict) => {
        reverified.push(conflict);
        if (state.role === 'follower') state.replica.reverify();
      },
    };
    const peers: Partial<PeersClient> = {
      logPage: async (_peer, after, limit) => {
        if (logUnreadable) throw logUnreadable;
        return { orders: leaderLog.filter((o) => o.order_no > after).slice(0, limit), last_no: leaderLog.length };
      },
    };
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, validate: () => validateEnv(OrderEnv, { ORDER_ID: '1', SYNC_BATCH_SIZE: '2', CATCH_UP_PAGE_SIZE: '2' }) }),
        TypeOrmModule.forRoot({
          type: 'sqlite',
          database: ':memory:',
          entities: [Order, ReplicaMeta],
          migrations: ORDER_MIGRATIONS,
          migrationsRun: true,
          logging: false,
        }),
        TypeOrmModule.forFeature([Order, ReplicaMeta]),
      ],
      providers: [DiskHealthService, OrderLogService, ClusterStateService, CatchUpService, SyncService, { provide: PeersClient, useValue: peers }, { provide: RecoveryService, useValue: recovery }],
    }).compile();
    await moduleRef.init();
    sync = moduleRef.get(SyncService);
    log = moduleRef.get(OrderLogService);
    state = moduleRef.get(ClusterStateService);
    // A new file: rejoined at once, as a new cluster's first recovery does (the recovery is faked here).
    await log.exclusive(() => state.rejoinedUnderLock(0));
    stayRecovering = false;
  });

  afterEach(() => moduleRef.close());

  const push = (orders: OrderRecordDto[], prev: { order_no: number; epoch: number }, epoch = 1, commit_no = 0) => {
    if (state.role === 'recovering' && !stayRecovering) state.replica.follow();
    return sync.apply({ leader: 3, epoch, commit_no, reconciled_seq: 0, prev, orders });
  };

  it('applies batches in order and learns the commit point', async () => {
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 1)];
    await expect(push(leaderLog.slice(0, 2), { order_no: 0, epoch: 0 }, 1, 1)).resolves.toEqual({ last_no: 2 });
    await expect(push(leaderLog.slice(2), { order_no: 2, epoch: 1 }, 1, 3)).resolves.toEqual({ last_no: 3 });
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
    expect(log.getMeta('commit_no')).toBe(3);
    expect(state.epoch).toBe(1);
    expect(state.leaderId).toBe(3);
  });

  it('refuses a sync it cannot repair its log for, because the leader\'s log cannot be read, with 503 not_ready: not a 500', async () => {
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 1)];
    logUnreadable = new Error('timeout of 2000ms exceeded');
    const refused = await push(leaderLog.slice(2), { order_no: 2, epoch: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(Unavailable);
    expect(refused).toMatchObject({ status: 503, code: ReplicaRefusal.notReady });
    expect(await log.count()).toBe(0);
    // The leader tries again once its log can be read: the gap is repaired and the batch applied.
    logUnreadable = undefined;
    await expect(push(leaderLog.slice(2), { order_no: 2, epoch: 1 })).resolves.toEqual({ last_no: 3 });
  });

  it('skips entries it already has, so a repeated sync is harmless', async () => {
    leaderLog = [logEntry(1, 1), logEntry(2, 1)];
    await push(leaderLog, { order_no: 0, epoch: 0 });
    await expect(push(leaderLog, { order_no: 0, epoch: 0 })).resolves.toEqual({ last_no: 2 });
    expect(await log.count()).toBe(2);
  });

  it('fetches what it missed from the leader, in pages, when a batch leaves a gap', async () => {
    leaderLog = [1, 2, 3, 4, 5, 6].map((n) => logEntry(n, 1));
    await push(leaderLog.slice(0, 1), { order_no: 0, epoch: 0 });
    await expect(push(leaderLog.slice(5), { order_no: 5, epoch: 1 })).resolves.toEqual({ last_no: 6 });
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
  });

  it('replaces a divergent unacknowledged tail with the leader entries', async () => {
    // Entries 3 and 4 were written by an old leader (epoch 1) and never reached a majority.
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 1, 'old'), logEntry(4, 1, 'old')], { order_no: 0, epoch: 0 }, 1, 2);
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 2, 'new')];
    await expect(push([logEntry(3, 2, 'new')], { order_no: 2, epoch: 1 }, 2, 3)).resolves.toEqual({ last_no: 3 });
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
  });

  it('refuses (400) a batch of which an entry does not match its checksum before it changes anything: its divergent tail stays, nothing is written', async () => {
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 1, 'old'), logEntry(4, 1, 'old')], { order_no: 0, epoch: 0 }, 1, 2);
    const before = await log.page(0, 10);
    const sent = { ...logEntry(3, 2, 'new'), checksum: orderChecksum(logEntry(3, 2, 'new')) };
    await expect(push([{ ...sent, quantity: 99 }], { order_no: 2, epoch: 1 }, 2, 3)).rejects.toThrow(
      new InvalidInput('order 3 does not match its checksum: it was changed on its way from the leader, and is not written'),
    );
    expect(await log.page(0, 10)).toEqual(before);
    expect(log.getMeta('commit_no')).toBe(2);
    leaderLog = [logEntry(1, 1), logEntry(2, 1), sent];
    await expect(push([sent], { order_no: 2, epoch: 1 }, 2, 3)).resolves.toEqual({ last_no: 3 }); // as sent, it is taken
    expect((await log.find(3))?.checksum).toBe(sent.checksum);
  });

  it('repairs from the leader when the entry before the batch differs (log matching)', async () => {
    await push([logEntry(1, 1), logEntry(2, 1, 'old')], { order_no: 0, epoch: 0 }, 1, 1);
    leaderLog = [logEntry(1, 1), logEntry(2, 2, 'new'), logEntry(3, 2, 'new')];
    await expect(push([logEntry(3, 2, 'new')], { order_no: 2, epoch: 2 }, 2, 3)).resolves.toEqual({ last_no: 3 });
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
  });

  it('takes a newer leader\'s stamp of the orders it holds, committed ones included, and drops none', async () => {
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 1)], { order_no: 0, epoch: 0 }, 1, 3);
    // The leader of epoch 2 had learnt the commit point only up to 1, and stamped 3, the last
    // entry it inherited, as its own (an older version stamped them all: taken the same way).
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 2), logEntry(4, 2)];
    const truncate = jest.spyOn(log, 'truncateFrom');
    await expect(push(leaderLog.slice(1), { order_no: 1, epoch: 1 }, 2, 4)).resolves.toEqual({ last_no: 4 });
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
    expect(log.lastPosition()).toEqual({ order_no: 4, epoch: 2 });
    expect(truncate).not.toHaveBeenCalled();
  });

  it('takes the leader\'s copy of an order both logged at different times (a paused leader, and the next one, which logged the retry anew): the logs end identical, checksums included', async () => {
    const copy = (e: OrderRecordDto, at = e.created_at!) => ({ ...e, created_at: at, checksum: orderChecksum({ ...e, created_at: at }) });
    await push([copy(logEntry(1, 1)), copy(logEntry(2, 1)), copy(logEntry(3, 1))], { order_no: 0, epoch: 0 }, 1, 1);
    // The leader of epoch 2 wrote order 2 again, 5 s later, under the old stamp, and order 3 under its own.
    leaderLog = [copy(logEntry(1, 1)), copy(logEntry(2, 1), logEntry(2).created_at! + 5000), copy(logEntry(3, 2), logEntry(3).created_at! + 5000), copy(logEntry(4, 2))];
    const truncate = jest.spyOn(log, 'truncateFrom');
    await expect(push(leaderLog.slice(1), { order_no: 1, epoch: 1 }, 2, 4)).resolves.toEqual({ last_no: 4 });
    expect(await log.page(0, 10)).toEqual(leaderLog);
    expect(truncate).not.toHaveBeenCalled();
    // The copies it took are its own now: its key window runs from the leader's time, and its check of the file passes.
    expect((await log.find(2))!.created_at).toBe(logEntry(2).created_at! + 5000);
    expect(await log.page(0, 10)).toEqual((await log.page(0, 10)).map((e) => ({ ...e, checksum: orderChecksum(e) })));
  });

  it('takes the leader\'s stamp of its commit point\'s own entry (a new leader that did not know it was committed stamped it), so that the stamps converge', async () => {
    await push([logEntry(1, 1), logEntry(2, 1)], { order_no: 0, epoch: 0 }, 1, 2);
    // The leader of epoch 2 stamped 2 as its own; this follower holds it, committed, stamped 1.
    leaderLog = [logEntry(1, 1), logEntry(2, 2), logEntry(3, 2)];
    await expect(push([logEntry(3, 2)], { order_no: 2, epoch: 2 }, 2, 3)).resolves.toEqual({ last_no: 3 });
    expect((await log.page(0, 10)).map((e) => [e.order_no, e.epoch])).toEqual([
      [1, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  it('counts an entry below its commit point as matching, whatever its stamp (committed orders are the same everywhere)', async () => {
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 1)], { order_no: 0, epoch: 0 }, 1, 3);
    leaderLog = [logEntry(1, 1), logEntry(2, 2), logEntry(3, 1), logEntry(4, 2)];
    const repair = jest.spyOn(CatchUpService.prototype, 'repairFrom');
    await expect(push([logEntry(4, 2)], { order_no: 3, epoch: 1 }, 2, 4)).resolves.toEqual({ last_no: 4 });
    expect(repair).not.toHaveBeenCalled();
    expect((await log.page(0, 10)).map((e) => [e.order_no, e.epoch])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 2],
    ]);
  });

  it('drops its entries past the batch stamped older than the batch\'s last one (not in the leader\'s log), so its last entry says what it holds', async () => {
    // 4–5 were written by the leader of epoch 1 and reached no majority; the leader of epoch 2
    // inherited 1–3 and stamped 3 as its own.
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 1), logEntry(4, 1, 'lost'), logEntry(5, 1, 'lost')], { order_no: 0, epoch: 0 }, 1, 2);
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 2)];
    await expect(push([logEntry(3, 2)], { order_no: 2, epoch: 1 }, 2, 2)).resolves.toEqual({ last_no: 3 });
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
    // Kept, 4–5 would leave its last entry at (epoch 1, 5): a log that compares as less advanced
    // than a copy of the leader's 1–3, though it holds the leader's stamped 3.
    expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 2 });
  });

  it('drops them on a heartbeat too (an empty batch whose entry before it carries the newer stamp), never a committed one', async () => {
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 2, 'kept'), logEntry(4, 1, 'lost')], { order_no: 0, epoch: 0 }, 2, 2);
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 2, 'kept')];
    await expect(push([], { order_no: 3, epoch: 2 }, 2, 2)).resolves.toEqual({ last_no: 3 });
    expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 2 });
    // At or below the commit point nothing is dropped, whatever its stamp.
    await push([logEntry(4, 2), logEntry(5, 1, 'old')], { order_no: 3, epoch: 2 }, 2, 5);
    await expect(push([], { order_no: 3, epoch: 2 }, 2, 5)).resolves.toEqual({ last_no: 5 });
  });

  it('keeps a committed entry that differs from the leader\'s in a batch, refuses the sync and has its whole log verified again', async () => {
    leaderLog = [logEntry(1, 1), logEntry(2, 1, 'mine'), logEntry(3, 1)];
    await push(leaderLog, { order_no: 0, epoch: 0 }, 1, 3);
    // The leader's entry 2, committed, is another order: one of the two files is damaged.
    const theirs = [logEntry(2, 2, 'theirs'), logEntry(3, 2), logEntry(4, 2)];
    await expect(push(theirs, { order_no: 1, epoch: 1 }, 2, 4)).rejects.toMatchObject({ status: 503, code: 'not_ready' });
    expect(reverified).toEqual([expect.objectContaining({ message: expect.stringMatching(/^order 2 is committed \(commit point 3\)/) })]);
    expect(await log.page(0, 10)).toEqual(leaderLog.map((e) => ({ ...e, created_at: expect.any(Number) })));
  });

  it('the same when its repair from the leader meets it (a gap before the batch)', async () => {
    await push([logEntry(1, 1), logEntry(2, 1), logEntry(3, 1, 'mine')], { order_no: 0, epoch: 0 }, 1, 3);
    leaderLog = [logEntry(1, 1), logEntry(2, 1), logEntry(3, 2, 'theirs'), logEntry(4, 2), logEntry(5, 2), logEntry(6, 2)];
    await expect(push(leaderLog.slice(5), { order_no: 5, epoch: 2 }, 2, 6)).rejects.toMatchObject({ status: 503, code: 'not_ready' });
    expect(reverified).toEqual([expect.objectContaining({ message: expect.stringMatching(/^order 3 is committed/) })]);
    expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 1 });
  });

  /** Runs `before` when the log's lock is next asked for, the `nth` time from now (1: the next). */
  const onExclusive = (nth: number, before: () => void) => {
    const original = log.exclusive.bind(log);
    let calls = 0;
    const spy = jest.spyOn(log, 'exclusive').mockImplementation((fn) => {
      if (++calls === nth) {
        spy.mockRestore();
        before();
      }
      return original(fn);
    });
  };

  it('refuses a sync that waited for the log while the replica went back to recovering, and applies nothing', async () => {
    await push([logEntry(1, 1)], { order_no: 0, epoch: 0 });
    let release!: () => void;
    const locked = new Promise<void>((taken) => void log.exclusive(() => new Promise<void>((r) => ((release = r), taken()))));
    await locked; // another writer holds the log
    const queued = new Promise<void>((r) => onExclusive(1, r));
    const waiting = push([logEntry(2, 1)], { order_no: 1, epoch: 1 });
    await queued; // the sync passed its first look at the role, and waits for the lock
    state.replica.reverify(); // another sync's conflict, say
    release();
    await expect(waiting).rejects.toMatchObject({ status: 503, code: 'not_ready' });
    expect(log.lastPosition()).toEqual({ order_no: 1, epoch: 1 });
  });

  it('refuses a sync queued right behind the one that met the conflict: it stops following before it lets go of the log', async () => {
    await push([logEntry(1, 1), logEntry(2, 1, 'mine'), logEntry(3, 1)], { order_no: 0, epoch: 0 }, 1, 3);
    let release!: () => void;
    await new Promise<void>((taken) => void log.exclusive(() => new Promise<void>((r) => ((release = r), taken()))));
    // The same epoch and leader throughout: learning them takes no lock, so each hook below is the sync's own.
    let queued = new Promise<void>((r) => onExclusive(1, r));
    const conflicting = push([logEntry(2, 1, 'theirs'), logEntry(3, 1), logEntry(4, 1)], { order_no: 1, epoch: 1 }, 1, 4);
    await queued;
    queued = new Promise<void>((r) => onExclusive(1, r));
    // One that would apply as it stands, once the first has let go of the log.
    const next = push([logEntry(4, 1)], { order_no: 3, epoch: 1 }, 1, 4);
    await queued;
    release();
    await expect(conflicting).rejects.toMatchObject({ status: 503, code: 'not_ready' });
    await expect(next).rejects.toMatchObject({ status: 503, code: 'not_ready' });
    expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 1 });
  });

  it('stops a repair, applying no more pages, once the replica no longer follows', async () => {
    await push([logEntry(1, 1)], { order_no: 0, epoch: 0 });
    leaderLog = [1, 2, 3, 4, 5, 6].map((n) => logEntry(n, 1));
    // The sync's first attempt finds a gap; back to recovering as the repair's first page is written.
    onExclusive(2, () => state.replica.reverify());
    await expect(push(leaderLog.slice(5), { order_no: 5, epoch: 1 })).rejects.toMatchObject({ status: 503, code: 'not_ready' });
    expect(log.lastPosition()).toEqual({ order_no: 1, epoch: 1 });
  });

  it('refuses a sync from a stale epoch and changes nothing', async () => {
    await push([logEntry(1, 2)], { order_no: 0, epoch: 0 }, 2);
    await expect(push([logEntry(2, 1, 'stale')], { order_no: 1, epoch: 2 }, 1)).rejects.toMatchObject({ status: 503, code: 'stale_epoch' });
    expect(await log.count()).toBe(1);
  });

  it('refuses syncs while recovering', async () => {
    stayRecovering = true;
    await expect(push([logEntry(1, 1)], { order_no: 0, epoch: 0 })).rejects.toMatchObject({ status: 503, code: 'not_ready' });
  });
});
