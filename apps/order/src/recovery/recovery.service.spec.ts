import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { OrderEnv, OrderRecordDto, ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { logEntry } from '@app/testkit/fixtures';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { ClusterTokenRejected, PeersClient } from '../cluster/peers.client';
import { ReplicaState } from '../cluster/replica-state';
import { CommittedEntryConflict, OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from './catch-up.service';
import { RecoveryService } from './recovery.service';
import { setTimeout as delay } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { orderChecksum } from '@app/contracts';

const peer1: ReplicaAddress = { id: 1, url: 'http://r1' };
const peer3: ReplicaAddress = { id: 3, url: 'http://r3' };
const status = (id: number, over: Partial<ReplicaStatus>): ReplicaStatus => ({
  id,
  role: 'follower',
  ready: true,
  epoch: 1,
  leader: 3,
  last_no: 0,
  last_epoch: 0,
  commit_no: 0,
  ...over,
});

/** Polls `done` every few ms, for at most 5 s. */
async function waitUntil(done: () => boolean): Promise<void> {
  for (const until = Date.now() + 5000; !done(); await delay(5)) {
    if (Date.now() > until) throw new Error('timed out');
  }
}

/** Every RecoveryService a test made: stopped after it, so that a failed test leaves no recovery retrying. */
const made: RecoveryService[] = [];
type PeerStatusLike = { peer: ReplicaAddress; status: ReplicaStatus };

/**
 * Replica 2 recovering, with fakes around it: its log (position only; the lock runs the function),
 * its peers' statuses (scripted), and a catch-up that records how it was asked and may refuse
 * with a committed-entry conflict. Its state is a real ReplicaState.
 */
function setup(opts: {
  statuses: () => Promise<{ peer: ReplicaAddress; status: ReplicaStatus }[]>;
  /** Whether the catch-up refuses with a committed-entry conflict, given whether it verifies the log. */
  conflict?: (verifying: boolean) => boolean;
  /** Each replica's copy of order 2, the one the conflict is about (2: this one); none by default. */
  copies?: Partial<Record<number, OrderRecordDto>>;
  /** Where each peer's log differs from this one's, compared through the commit point (none by default). */
  differences?: (peer: number) => number[];
  /** The log's metadata as it starts (`must_compare`). */
  meta?: Record<string, number>;
  trustOwnLog?: boolean;
  rejoinWithPeersDown?: boolean;
  /** Entries of this replica's file that do not match their checksum, as the start's check finds them. */
  damaged?: number[];
  /** How far the start's check vouched for every entry by its checksum (none by default). */
  vouched?: number;
  /** Its commit point in memory as it starts (5 by default, its last entry). */
  commitNo?: number;
  /** Where a catch-up would begin by its commit point (4 by default: just below it). */
  startPoint?: number;
  /** How long its check at start took (0 by default). */
  checkMs?: number;
  /** Whether writing the commit point fails. */
  commitWriteFails?: boolean;
  /** Started on a new or emptied file (see ReplicaState.rejoining). */
  rejoining?: boolean;
}) {
  const replica = new ReplicaState(2, { epoch: 0, votedFor: null, leader: null, commitNo: opts.commitNo ?? 5, rejoining: opts.rejoining });
  const rejoins: number[] = [];
  const observed: [number, number][] = [];
  const state = {
    id: 2,
    peers: [peer1, peer3],
    majority: 2,
    replica,
    rejoinedUnderLock: async (epoch: number) => {
      rejoins.push(epoch);
      replica.rejoined(epoch);
    },
    get role() {
      return replica.role;
    },
    get epoch() {
      return replica.epoch;
    },
    status: () => status(2, { role: replica.role, ready: replica.ready, epoch: replica.epoch, last_no: 5, last_epoch: 1, commit_no: 5 }),
    acceptLeader: async (epoch: number, leader: number) => {
      observed.push([epoch, leader]);
      if (replica.decideLeader(epoch, leader) === 'accepted') replica.acceptLeader(epoch, leader);
      return true;
    },
  } as unknown as ClusterStateService;
  const damaged = new Set(opts.damaged);
  const repairs: OrderRecordDto[] = [];
  const truncated: number[] = [];
  const log = {
    damaged$: new Subject<number>(),
    verifyChecksums: async () => [...damaged],
    vouchedThrough: () => opts.vouched ?? 0,
    checkDurationMs: () => opts.checkMs ?? 0,
    repairFromTail: async () => [],
    damagedEntries: () => [...damaged].sort((a, b) => a - b),
    repair: async (copy: OrderRecordDto) => {
      repairs.push(copy);
      damaged.delete(copy.order_no);
    },
    truncateFrom: async (from: number) => {
      truncated.push(from);
      for (const n of damaged) if (n >= from) damaged.delete(n);
      return 1;
    },
    // A real lock, as the log's: a metadata write under it would wait for ever.
    exclusive: <T>(fn: () => Promise<T>) => {
      const run = locked.then(fn);
      locked = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    lastPosition: () => ({ order_no: 5, epoch: 1 }),
    find: async (orderNo: number) => (orderNo === 2 ? (opts.copies?.[2] ?? null) : null),
    dbFile: '/data/order-2.sqlite',
    getMeta: (key: string) => meta[key] ?? 0,
    updateMeta: (values: Record<string, number>) =>
      log.exclusive(async () => {
        if (opts.commitWriteFails && 'commit_no' in values) throw new Error('SQLITE_FULL: database or disk is full');
        metaWrites.push(values);
        Object.assign(meta, values);
      }),
  } as unknown as OrderLogService;
  let locked: Promise<void> = Promise.resolve();
  const meta: Record<string, number> = { ...opts.meta };
  const metaWrites: Record<string, number>[] = [];
  const catchUps: { from: number; verifyAfter?: number }[] = [];
  let duringCatchUp: (() => Promise<void>) | undefined;
  const comparisons: { with: number; after: number; through: number }[] = [];
  const catchUp = {
    // Just below its commit point (5), as the real one.
    startPoint: () => opts.startPoint ?? 4,
    differencesWith: async (source: ReplicaAddress, after: number, through: number) => {
      comparisons.push({ with: source.id, after, through });
      return opts.differences?.(source.id) ?? [];
    },
    catchUpFrom: async (source: ReplicaAddress, _drop: boolean, verifyAfter?: number) => {
      catchUps.push({ from: source.id, verifyAfter });
      await duringCatchUp?.();
      // As the real one: its damaged entries above the commit point (5) take the source's copies.
      for (const n of damaged) if (n > 5) damaged.delete(n);
      if (opts.conflict?.(verifyAfter !== undefined)) throw new CommittedEntryConflict(2, 5);
      return { fetched: 0, dropped: 0 };
    },
  } as unknown as CatchUpService;
  const asked: { peer: number; from: number; orderNo: number }[] = [];
  const peers = {
    statuses: opts.statuses,
    askToCompare: async (peer: ReplicaAddress, from: number, orderNo: number) => {
      asked.push({ peer: peer.id, from, orderNo });
      return '200 ok';
    },
    logPage: async (peer: ReplicaAddress, after: number) => {
      const copy = opts.copies?.[peer.id];
      return { orders: copy && after === copy.order_no - 1 ? [copy] : [], last_no: 5 };
    },
  } as unknown as PeersClient;
  const config = {
    get: (key: string) => (key === 'TRUST_OWN_LOG' ? (opts.trustOwnLog ?? false) : key === 'REJOIN_WITH_PEERS_DOWN' ? (opts.rejoinWithPeersDown ?? false) : undefined),
  } as unknown as ConfigService<OrderEnv, true>;
  const recovery = new RecoveryService(state, log, peers, catchUp, config);
  made.push(recovery);
  /** Runs `hook` inside every catch-up, as if it came while the pages were read. */
  const onCatchUp = (hook: () => Promise<void>) => void (duringCatchUp = hook);
  return { recovery, replica, catchUps, observed, comparisons, meta, metaWrites, asked, log, repairs, truncated, state, onCatchUp, rejoins };
}

describe('RecoveryService', () => {
  let errors: string[];

  beforeEach(() => {
    errors = [];
    Logger.overrideLogger({ log: () => undefined, warn: () => undefined, error: (m: unknown) => errors.push(String(m)) } as never);
  });
  afterEach(() => made.splice(0).forEach((r) => r.onApplicationShutdown()));
  afterAll(() => Logger.overrideLogger(false));

  it('first verifies the log against the leader (the whole log, when no checksum vouches for any entry), adopts its epoch and follows; a later recovery starts at the commit point', async () => {
    const { recovery, replica, catchUps, observed } = setup({
      statuses: async () => [
        { peer: peer1, status: status(1, { last_no: 9, last_epoch: 1 }) },
        { peer: peer3, status: status(3, { role: 'leader', epoch: 4, leader: 3, last_no: 8, last_epoch: 4 }) },
      ],
    });
    await recovery.recover();
    expect(catchUps).toEqual([{ from: 3, verifyAfter: 0 }]);
    expect(observed).toEqual([[4, 3]]);
    expect(replica.role).toBe('follower');

    // Promoted, then deposed: it recovers again, comparing only past its commit point.
    replica.grantVote(5, 2);
    replica.beginPromotion(5);
    replica.stepDown();
    await recovery.recover();
    expect(catchUps[1]).toEqual({ from: 3, verifyAfter: undefined });
  });

  it('with a new or emptied file (rebuilt), waits for both peers: one may lack orders committed with its lost copy, and epochs it voted in; then takes the most advanced log and the newest epoch, with no vote', async () => {
    // Replica 3 led epoch 4 and committed orders with this replica's copy, now lost; replica 1 is
    // behind, and has adopted epoch 5 for a candidate (itself) that this replica may have voted for too.
    const leader3 = { peer: peer3, status: status(3, { role: 'leader', epoch: 4, leader: 3, last_no: 8, last_epoch: 4, commit_no: 8 }) };
    const behind1 = { peer: peer1, status: status(1, { epoch: 5, leader: 1, last_no: 6, last_epoch: 4, commit_no: 6 }) };
    let answering = [behind1];
    let rounds = 0;
    const { recovery, replica, catchUps, rejoins } = setup({
      rejoining: true,
      statuses: async () => {
        rounds++;
        return answering;
      },
    });
    const done = recovery.recover();
    // (Before the fix, the first round caught up from replica 1 alone and followed.)
    await Promise.race([done, waitUntil(() => rounds >= 2)]);
    // Replica 1 alone may lack orders committed with the lost copy: nothing taken from it, not ready, no vote.
    expect(catchUps).toEqual([]);
    expect(replica.role).toBe('recovering');
    expect(replica.decideVote(5, 1)).toBe('refused');
    expect(recovery.blockedBy).toMatch(/1 of its 2 peers answered: it needs 2/);

    answering = [behind1, leader3];
    await done;
    expect(catchUps.map((c) => c.from)).toEqual([3]);
    expect(rejoins).toEqual([5]);
    expect(replica.role).toBe('follower');
    // Epoch 5, with no vote: it may have voted in it before, and may not vote again in it.
    expect({ epoch: replica.epoch, votedFor: replica.votedFor }).toEqual({ epoch: 5, votedFor: null });
    expect(replica.decideVote(5, 1)).toBe('refused');
    expect(replica.decideVote(5, 3)).toBe('refused');
    expect(replica.decideVote(6, 3)).toBe('granted');
  });

  it('with a new file, says it waits for its peers at info while they may still be starting, and at warn once that has gone on', async () => {
    // Every new cluster started at once began with this warning (found running `npm start`).
    const lines: { level: string; message: string }[] = [];
    const keep = (level: string) => (m: unknown) => lines.push({ level, message: String(m) });
    Logger.overrideLogger({ log: keep('log'), warn: keep('warn'), error: keep('error') } as never);
    let rounds = 0;
    const { recovery, replica } = setup({ rejoining: true, statuses: async () => (rounds++, []) });
    void recovery.recover();
    await waitUntil(() => rounds >= 2);
    const waiting = (level: string) =>
      lines.filter((l) => l.level === level && /^not ready: its file is new or was emptied .*0 of its 2 peers answered: it needs 2/.test(l.message));
    expect(waiting('log')).toHaveLength(1);
    expect(waiting('warn')).toHaveLength(0);
    // 25 s after the service started, the same wait is a warning, said at once.
    const now = performance.now.bind(performance);
    const later = jest.spyOn(performance, 'now').mockImplementation(() => now() + 25_000);
    try {
      const seen = rounds;
      await waitUntil(() => rounds >= seen + 2);
      expect(waiting('warn')).toHaveLength(1);
      expect(waiting('log')).toHaveLength(1);
    } finally {
      later.mockRestore();
    }
    expect(replica.role).toBe('recovering');
  });

  it('with a new or emptied file, does not leave out a more advanced peer whose own log may be damaged: it waits', async () => {
    const leader3 = { peer: peer3, status: status(3, { role: 'leader', epoch: 4, leader: 3, last_no: 8, last_epoch: 4, commit_no: 8 }) };
    const suspect1 = { peer: peer1, status: status(1, { epoch: 4, leader: 3, last_no: 9, last_epoch: 4, commit_no: 9, log_suspect: true as const }) };
    let rounds = 0;
    const { recovery, replica, catchUps } = setup({ rejoining: true, statuses: async () => (rounds++, [suspect1, leader3]) });
    void recovery.recover();
    await waitUntil(() => rounds >= 2);
    expect(catchUps).toEqual([]);
    expect(replica.role).toBe('recovering');
    expect(recovery.blockedBy).toMatch(/replica 1 is more advanced than any other peer, but its own log may be damaged/);
  });

  it('with a new or emptied file and REJOIN_WITH_PEERS_DOWN=true (the operator\'s override), rejoins with the one peer that answers', async () => {
    const behind1 = { peer: peer1, status: status(1, { epoch: 5, leader: 1, last_no: 6, last_epoch: 4, commit_no: 6 }) };
    const { recovery, replica, catchUps, rejoins } = setup({ rejoining: true, rejoinWithPeersDown: true, statuses: async () => [behind1] });
    await recovery.recover();
    expect(catchUps.map((c) => c.from)).toEqual([1]);
    expect(rejoins).toEqual([5]);
    expect(replica.role).toBe('follower');
  });

  it('with a new file in a new cluster, starts with one peer that has a new file too (a replica missing at the first start)', async () => {
    const fresh = { peer: peer1, status: status(1, { role: 'recovering', ready: false, epoch: 0, leader: null, last_no: 0, last_epoch: 0, commit_no: 0 }) };
    const { recovery, replica, rejoins } = setup({ rejoining: true, statuses: async () => [fresh] });
    await recovery.recover();
    expect(rejoins).toEqual([0]);
    expect(replica.role).toBe('follower');
    expect(replica.decideVote(1, 3)).toBe('granted');
  });

  it('compares its log after the entries both its own and the source\'s checksums vouch for, or from the first one once a difference with a peer was found', async () => {
    const leaderVouching = (vouched_through?: number, suspect = false) => async () => [
      { peer: peer3, status: status(3, { role: 'leader', epoch: 4, leader: 3, last_no: 8, last_epoch: 4, vouched_through, ...(suspect && { log_suspect: true as const }) }) },
    ];
    const compareAfter = async (own: number, source?: number, suspect = false) => {
      const { recovery, catchUps } = setup({ statuses: leaderVouching(source, suspect), vouched: own });
      await recovery.recover();
      return catchUps.map((c) => c.verifyAfter);
    };
    expect(await compareAfter(4, 8)).toEqual([4]);
    // The source's entries without a checksum are compared too: a change in its file shows only there.
    expect(await compareAfter(4, 2)).toEqual([2]);
    // A source of a version before checksums says nothing, and a source whose own log may be damaged is not taken at its word: the whole log.
    expect(await compareAfter(4)).toEqual([0]);
    expect(await compareAfter(4, 8, true)).toEqual([0]);

    // A difference found before it stopped (`must_compare`): a checksum does not show which copy a leader wrote.
    const differed = setup({ statuses: leaderVouching(8), vouched: 4, meta: { must_compare: 1 } });
    differed.recovery.onApplicationBootstrap();
    await differed.recovery.recover();
    expect(differed.catchUps).toEqual([{ from: 3, verifyAfter: 0 }]);

    // The whole cluster restarting: the comparison with each equally advanced peer begins there too.
    const equal = (id: number, vouched_through: number) => ({
      peer: id === 1 ? peer1 : peer3,
      status: status(id, { role: 'recovering', ready: false, epoch: 0, leader: null, last_no: 5, last_epoch: 1, commit_no: 5, vouched_through }),
    });
    const restarting = setup({ statuses: async () => [equal(1, 5), equal(3, 1)], vouched: 4 });
    await restarting.recovery.recover();
    expect(restarting.comparisons).toEqual([
      { with: 1, after: 4, through: 5 },
      { with: 3, after: 1, through: 5 },
    ]);
    expect(restarting.replica.role).toBe('follower');
  });

  it('after a catch-up, takes the source\'s commit point as its own, through its own last entry, on disk too (a restart right after compares from there)', async () => {
    const caughtUp = async (sourceCommit: number, ownCommit = 0, role: 'leader' | 'follower' = 'leader') => {
      const { recovery, meta, replica } = setup({
        statuses: async () => [{ peer: peer3, status: status(3, { role, epoch: 4, leader: role === 'leader' ? 3 : null, last_no: 8, last_epoch: 4, commit_no: sourceCommit }) }],
        meta: { commit_no: ownCommit },
        commitNo: ownCommit,
      });
      await recovery.recover();
      return [meta.commit_no, replica.commitNo];
    };
    // Its log ends at order 5 (the fake's).
    expect(await caughtUp(4)).toEqual([4, 4]);
    expect(await caughtUp(8)).toEqual([5, 5]);
    // From the most advanced replica, with no leader, the same.
    expect(await caughtUp(4, 0, 'follower')).toEqual([4, 4]);
    // Never lowered.
    expect(await caughtUp(2, 3)).toEqual([3, 3]);

    // A write that fails leaves both as they were, and the replica ready: the leader's next sync writes it.
    const full = setup({
      statuses: async () => [{ peer: peer3, status: status(3, { role: 'leader', epoch: 4, leader: 3, last_no: 8, last_epoch: 4, commit_no: 8 }) }],
      commitNo: 0,
      commitWriteFails: true,
    });
    await full.recovery.recover();
    expect([full.meta.commit_no, full.replica.commitNo, full.replica.role]).toEqual([undefined, 0, 'follower']);
  });

  it('a whole-cluster restart: a peer still checking its file (`checking_log`) is waited for, so the comparison begins where both checksums vouch; not for ever', async () => {
    const equal = (id: number, over: Partial<ReplicaStatus>) => ({
      peer: id === 1 ? peer1 : peer3,
      status: status(id, { role: 'recovering', ready: false, epoch: 0, leader: null, last_no: 5, last_epoch: 1, commit_no: 5, ...over }),
    });
    // Replica 3's check is over after its third status; replica 1's long before.
    let asked = 0;
    const restarting = setup({
      statuses: async () => {
        asked++;
        return [equal(1, { vouched_through: 5 }), equal(3, asked < 3 ? { vouched_through: 0, checking_log: true } : { vouched_through: 5 })];
      },
      vouched: 5,
    });
    await restarting.recovery.recover();
    expect(asked).toBe(3);
    expect(restarting.comparisons).toEqual([
      { with: 1, after: 5, through: 5 },
      { with: 3, after: 5, through: 5 },
    ]);
    expect(restarting.replica.role).toBe('follower');

    // The same for a more advanced source still checking; one that is not caught up from at once.
    let checked = false;
    const behind = setup({
      statuses: async () => [{ peer: peer1, status: status(1, { role: 'recovering', ready: false, last_no: 9, last_epoch: 1, vouched_through: checked ? 9 : 0, ...(!checked && { checking_log: true as const }) }) }],
      vouched: 5,
    });
    const done = behind.recovery.recover();
    await delay(120);
    expect(behind.catchUps).toEqual([]);
    checked = true;
    await done;
    expect(behind.catchUps).toEqual([{ from: 1, verifyAfter: 5 }]);

    // Nothing of its own vouched for: the comparison begins at 0 whatever the peer says, so no wait.
    let askedUnvouched = 0;
    const unvouched = setup({ statuses: async () => (askedUnvouched++, [equal(1, { vouched_through: 0, checking_log: true })]), vouched: 0 });
    await unvouched.recovery.recover();
    expect([askedUnvouched, unvouched.comparisons]).toEqual([1, [{ with: 1, after: 0, through: 5 }]]);

    // Nor for a catch-up from the start of the log (no commit point yet), whatever it vouches for.
    let askedUncommitted = 0;
    const uncommitted = setup({
      statuses: async () => (askedUncommitted++, [{ peer: peer1, status: status(1, { role: 'recovering', ready: false, last_no: 9, last_epoch: 1, vouched_through: 0, checking_log: true }) }]),
      vouched: 5,
      startPoint: 0,
    });
    await uncommitted.recovery.recover();
    expect([askedUncommitted, uncommitted.catchUps]).toEqual([1, [{ from: 1, verifyAfter: 0 }]]);

    // A long log of its own (its check took 8 s): it waits up to twice that for a peer's.
    let longAsked = 0;
    const long = setup({ statuses: async () => (longAsked++, [equal(1, { vouched_through: 0, checking_log: true })]), vouched: 5, checkMs: 8000 });
    const longWait = long.recovery.recover();
    await waitUntil(() => longAsked > 0);
    const at = performance.now();
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => at + 10_000);
    try {
      // Two more rounds past 10 s, still waiting.
      const asked = longAsked;
      await waitUntil(() => longAsked >= asked + 2);
      expect(long.comparisons).toEqual([]);
      clock.mockImplementation(() => at + 16_000);
      await longWait;
    } finally {
      clock.mockRestore();
    }
    expect(long.comparisons).toEqual([{ with: 1, after: 0, through: 5 }]);

    // A peer whose check never ends: after 10 s, its whole log is compared, as before.
    const stuck = setup({ statuses: async () => [equal(1, { vouched_through: 0, checking_log: true })], vouched: 5 });
    const waiting = stuck.recovery.recover();
    await delay(120);
    expect(stuck.comparisons).toEqual([]);
    const now = performance.now();
    const later = jest.spyOn(performance, 'now').mockImplementation(() => now + 10_000);
    try {
      await waiting;
    } finally {
      later.mockRestore();
    }
    expect(stuck.comparisons).toEqual([{ with: 1, after: 0, through: 5 }]);
  });

  it('with no leader, catches up from the most advanced peer (epoch of its last entry first), or takes its own log when none is ahead', async () => {
    const ahead = setup({
      statuses: async () => [
        { peer: peer1, status: status(1, { last_no: 20, last_epoch: 1 }) },
        { peer: peer3, status: status(3, { last_no: 6, last_epoch: 2 }) },
      ],
    });
    await ahead.recovery.recover();
    expect(ahead.catchUps).toEqual([{ from: 3, verifyAfter: 0 }]);

    const alone = setup({ statuses: async () => [] });
    await alone.recovery.recover();
    expect(alone.catchUps).toEqual([]);
    expect(alone.replica.role).toBe('follower');
  });

  it('a committed entry that differs from the source keeps it not ready, says which and how to rebuild, and retries', async () => {
    let damaged = true;
    const { recovery, replica, catchUps } = setup({
      statuses: async () => [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }],
      conflict: () => damaged,
    });
    const done = recovery.recover();
    await delay(50);
    expect(replica.role).toBe('recovering');
    expect(recovery.blockedBy).toBe(
      "its log differs from replica 3's below its commit point: order 2 is committed (commit point 5) and cannot be replaced or dropped",
    );
    // No third replica answers: which file differs is not known, so neither is named.
    expect(errors).toEqual([expect.stringContaining('no third replica holds a committed copy of order 2 to say which of the two files differs: rebuild neither yet')]);
    expect(recovery.logDamaged).toBe(true); // its order lookups are refused meanwhile
    damaged = false; // say the operator restored the file
    await done;
    expect(replica.role).toBe('follower');
    expect(recovery.blockedBy).toBeUndefined();
    expect(recovery.logDamaged).toBe(false);
    expect(catchUps.map((c) => c.verifyAfter)).toEqual([0, 0]);
  });

  it('a follower whose sync met a committed entry that differs from the leader\'s stops following and verifies its whole log again: not ready, its log damaged', async () => {
    let damaged = false;
    const { recovery, replica, catchUps } = setup({
      statuses: async () => [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }],
      // The damage shows only to a comparison from the log's start: past the commit point all is equal.
      conflict: (verifying) => damaged && verifying,
    });
    await recovery.recover();
    expect(replica.role).toBe('follower');
    damaged = true; // say a sync found it so
    recovery.reverify(new CommittedEntryConflict(2, 5));
    // At once: not ready, and its syncs and order lookups are refused from here on.
    expect(replica.role).toBe('recovering');
    expect(recovery.logDamaged).toBe(true);
    expect(recovery.blockedBy).toBe("its log differs from the leader's below its commit point: order 2 is committed (commit point 5) and cannot be replaced or dropped");
    expect(errors).toEqual([expect.stringContaining("its log differs from the leader's: order 2 is committed")]);
    for (let i = 0; i < 600 && !/replica 3's/.test(recovery.blockedBy ?? ''); i++) await delay(5);
    expect(recovery.blockedBy).toMatch(/^its log differs from replica 3's below its commit point/);
    expect(recovery.logDamaged).toBe(true);
    expect(catchUps.map((c) => c.verifyAfter)).toEqual([0, 0]);
    recovery.reverify(new CommittedEntryConflict(2, 5)); // not a follower now: nothing more
    expect(errors).toHaveLength(2); // the first one, and recovery's own "not ready"
    damaged = false; // the operator rebuilt the file
    await recovery.recover();
    expect(replica.role).toBe('follower');
    expect(recovery.logDamaged).toBe(false);
  });

  it('a difference found at restart is not forgotten when the source goes: with none in reach it stays not ready, its log damaged', async () => {
    let leaderAnswers = true;
    const { recovery, replica } = setup({
      // Replica 3 leads and holds another copy; then it stops, and replica 1 is behind this one.
      statuses: async () =>
        leaderAnswers
          ? [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }]
          : [{ peer: peer1, status: status(1, { last_no: 4, last_epoch: 1 }) }],
      conflict: () => leaderAnswers,
    });
    void recovery.recover();
    for (let i = 0; i < 600 && !recovery.logDamaged; i++) await delay(5);
    expect(recovery.logDamaged).toBe(true);
    leaderAnswers = false;
    await delay(1500); // past its next round (one a second while blocked)
    expect(replica.role).toBe('recovering');
    expect(recovery.logDamaged).toBe(true);
    expect(recovery.blockedBy).toMatch(/^its log differs from replica 3's/);
  });

  it('after such a sync it never takes its log as it is: with no leader nor more advanced replica in reach it waits for one, not ready', async () => {
    let leaderAnswers = true;
    const { recovery, replica, catchUps } = setup({
      statuses: async () =>
        leaderAnswers
          ? [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }]
          : // The leader is unreachable; the other peer is behind and still promoting in a new epoch.
            [{ peer: peer1, status: status(1, { role: 'promoting', epoch: 2, leader: 1, last_no: 4, last_epoch: 1 }) }],
    });
    await recovery.recover();
    expect(catchUps).toHaveLength(1);
    leaderAnswers = false;
    recovery.reverify(new CommittedEntryConflict(2, 5));
    const done = recovery.recover(); // the recovery reverify started
    await delay(300); // more than one retry
    expect(replica.role).toBe('recovering');
    expect(recovery.logDamaged).toBe(true);
    expect(catchUps).toHaveLength(1);
    leaderAnswers = true;
    await done;
    expect(catchUps).toEqual([
      { from: 3, verifyAfter: 0 },
      { from: 3, verifyAfter: 0 },
    ]);
    expect(replica.role).toBe('follower');
    expect(recovery.logDamaged).toBe(false);
    expect(recovery.blockedBy).toBeUndefined();
  });

  it('asks a third replica for its copy of the order, and names the replica to rebuild: this one, or the source when the third agrees with this one', async () => {
    let thirdCommitNo = 5;
    const leader = async () => [
      { peer: peer1, status: status(1, { last_no: 5, last_epoch: 1, commit_no: thirdCommitNo }) },
      { peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) },
    ];
    const mine = logEntry(2, 1, 'mine');
    const theirs = logEntry(2, 1, 'theirs');
    const blockedBy = async (copies: Partial<Record<number, OrderRecordDto>>) => {
      const { recovery } = setup({ statuses: leader, conflict: () => true, copies });
      void recovery.recover();
      for (let i = 0; i < 600 && recovery.blockedBy === undefined; i++) await delay(5);
      return recovery.blockedBy;
    };
    const differs = "its log differs from replica 3's below its commit point: order 2 is committed (commit point 5) and cannot be replaced or dropped";
    expect(await blockedBy({ 1: mine, 2: mine, 3: theirs })).toBe(
      `${differs}; replica 1 holds the same order 2 as this replica, so replica 3's copy is the one that differs from a majority`,
    );
    expect(errors.pop()).toMatch(/: rebuild replica 3 from its peers \(stop it, delete or move aside its database file and start it again\), not this one$/);
    expect(await blockedBy({ 1: theirs, 2: mine, 3: theirs })).toBe(`${differs}; replica 1 holds replica 3's copy of order 2`);
    expect(errors.pop()).toMatch(/; to rebuild it from its peers, stop it, delete \(or move aside\) \/data\/order-2\.sqlite\* and start it again$/);
    expect(await blockedBy({ 2: mine, 3: theirs })).toBe(differs); // replica 1 has no copy to compare
    const undecided = errors.pop();
    // Both copies, for the operator to compare by hand should no third replica ever settle it.
    expect(undecided).toContain("(this replica's copy: buy 2 Stock1 (request mine-2); replica 3's: buy 2 Stock1 (request theirs-2))");
    expect(undecided).toMatch(/: rebuild neither yet; it compares again every second, .*compare that order in both files by hand, rebuild the wrong one \(starting it once with REJOIN_WITH_PEERS_DOWN=true while a replica is down\), and start the other once with TRUST_OWN_LOG=true$/);
    // A copy the third replica had not committed (it may have copied it from either file since) is no opinion.
    thirdCommitNo = 1;
    expect(await blockedBy({ 1: mine, 2: mine, 3: theirs })).toBe(differs);
  });

  describe('with no leader nor more advanced replica: a replica exactly as advanced as this one', () => {
    const equal = { peer: peer1, status: status(1, { role: 'recovering', ready: false, epoch: 0, leader: null, last_no: 5, last_epoch: 1, commit_no: 5 }) };
    const behind = { peer: peer3, status: status(3, { last_no: 3, last_epoch: 1, commit_no: 3 }) };
    const mine = logEntry(2, 1, 'mine');
    const theirs = logEntry(2, 1, 'theirs');

    it('is compared with, through the commit point, and a matching copy makes it a follower (a whole cluster restarting)', async () => {
      const { recovery, replica, comparisons, catchUps } = setup({ statuses: async () => [equal, behind] });
      await recovery.recover();
      expect(comparisons).toEqual([{ with: 1, after: 0, through: 5 }]);
      expect(catchUps).toEqual([]); // nothing fetched, nothing changed
      expect(replica.role).toBe('follower');
    });

    it('differing where the third replica holds this one\'s copy: it follows, and names the peer to rebuild', async () => {
      const { recovery, replica, meta, asked } = setup({ statuses: async () => [equal, behind], differences: () => [2], copies: { 1: theirs, 2: mine, 3: mine } });
      await recovery.recover();
      expect(replica.role).toBe('follower');
      expect(asked).toEqual([{ peer: 1, from: 2, orderNo: 2 }]); // told, so that it stops serving
      expect(recovery.logDamaged).toBe(false);
      expect(meta.must_compare ?? 0).toBe(0);
      expect(errors).toEqual([
        "replica 1's log differs from this one's, as advanced as it, at order 2; replica 3 holds this replica's copies, so replica 1's are the ones that differ from a majority: rebuild replica 1 from its peers",
      ]);
    });

    it('differing where the third holds the peer\'s copy (or none): not ready, its log damaged, and that is kept for a restart', async () => {
      const { recovery, replica, meta } = setup({ statuses: async () => [equal, behind], differences: () => [2], copies: { 1: theirs, 2: mine, 3: theirs } });
      void recovery.recover();
      for (let i = 0; i < 600 && recovery.blockedBy === undefined; i++) await delay(5);
      expect(recovery.blockedBy).toBe("its log differs from replica 1's, which is as advanced as it: order 2 is another order there; replica 3 holds replica 1's copy of order 2");
      expect(replica.role).toBe('recovering');
      expect(recovery.logDamaged).toBe(true);
      expect(meta.must_compare).toBe(1);

      const alone = setup({ statuses: async () => [equal], differences: () => [2], copies: { 1: theirs, 2: mine } });
      void alone.recovery.recover();
      for (let i = 0; i < 600 && alone.recovery.blockedBy === undefined; i++) await delay(5);
      expect(alone.recovery.blockedBy).toBe("its log differs from replica 1's, which is as advanced as it: order 2 is another order there");
      expect(alone.replica.role).toBe('recovering');
    });

    it('compares with every one: a peer whose copy differs while another matches this one is asked to compare again, so that it stops serving', async () => {
      const equal3 = { peer: peer3, status: status(3, { last_no: 5, last_epoch: 1, commit_no: 5 }) };
      const matching1 = { ...equal, status: { ...equal.status, commit_no: 5 } };
      const { recovery, replica, asked, comparisons } = setup({
        statuses: async () => [matching1, equal3],
        differences: (peer) => (peer === 3 ? [2] : []),
        copies: { 1: mine, 2: mine, 3: theirs },
      });
      await recovery.recover();
      expect(comparisons.map((c) => c.with)).toEqual([1, 3]);
      expect(replica.role).toBe('follower');
      expect(asked).toEqual([{ peer: 3, from: 2, orderNo: 2 }]);
      expect(errors).toEqual([expect.stringMatching(/^replica 3's log differs from this one's, as advanced as it, at order 2; replica 1 holds this replica's copies/)]);
    });

    it('too many differences to settle on a few third copies: not ready, though the third copies name the peer (its own log not suspect)', async () => {
      const differences = Array.from({ length: 10 }, (_, i) => i + 1);
      const copies = { 1: theirs, 2: mine, 3: mine };
      const { recovery, replica, meta, asked } = setup({ statuses: async () => [equal, behind], differences: () => differences, copies });
      // The fakes hold a copy of order 2 only: say every differing order's third copy is this replica's.
      (recovery as unknown as { secondOpinion: () => Promise<unknown> }).secondOpinion = async () => ({ own: mine, theirs, opinion: { peer: peer3, agreesWith: 'this replica' } });
      void recovery.recover();
      for (let i = 0; i < 600 && recovery.blockedBy === undefined; i++) await delay(5);
      expect(recovery.blockedBy).toMatch(/^its log differs from replica 1's, which is as advanced as it: order 1 is another order there; replica 3 holds the same order 1 as this replica/);
      expect(replica.role).toBe('recovering');
      expect(asked).toEqual([]);
      expect((recovery as unknown as { state: { logSuspect: boolean } }).state.logSuspect).toBe(false);
      expect(meta.must_compare).toBe(2); // a restart remembers that the peer's file is the odd one
    });

    it('the gravest verdict counts, whatever order the peers answered in: a difference no third copy settles outranks one that names the peer', async () => {
      const equal3 = { peer: peer3, status: status(3, { last_no: 5, last_epoch: 1, commit_no: 5 }) };
      for (const order of [
        [equal, equal3],
        [equal3, equal],
      ]) {
        const { recovery } = setup({ statuses: async () => order, differences: (peer) => (peer === 1 ? Array.from({ length: 10 }, (_, i) => i + 1) : [2]) });
        // Replica 1's differences (too many to vouch) all have a third copy on this replica's side; replica 3's none.
        (recovery as unknown as { secondOpinion: (no: number, source: ReplicaAddress) => Promise<unknown> }).secondOpinion = async (_no, source) =>
          source.id === 1 ? { own: mine, theirs, opinion: { peer: peer3, agreesWith: 'this replica' } } : { own: mine, theirs };
        void recovery.recover();
        for (let i = 0; i < 600 && recovery.blockedBy === undefined; i++) await delay(5);
        expect(recovery.blockedBy).toBe("its log differs from replica 3's, which is as advanced as it: order 2 is another order there");
        expect((recovery as unknown as { state: { logSuspect: boolean } }).state.logSuspect).toBe(true);
        recovery.onApplicationShutdown();
      }
    });

    it('ends the wait after a sync met a difference with a leader that is gone: both followers compare with each other', async () => {
      let leaderAnswers = true;
      const { recovery, replica, meta, comparisons } = setup({
        statuses: async () => (leaderAnswers ? [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }] : [equal]),
      });
      await recovery.recover();
      leaderAnswers = false;
      recovery.reverify(new CommittedEntryConflict(2, 5));
      expect(recovery.logDamaged).toBe(true);
      await recovery.recover();
      expect(comparisons).toEqual([{ with: 1, after: 0, through: 5 }]);
      expect(replica.role).toBe('follower');
      expect(recovery.logDamaged).toBe(false);
      expect(meta.must_compare).toBe(0); // recorded by reverify, cleared by the comparison
    });

    it('is not compared with once the log was verified (a deposed leader recovering)', async () => {
      const verified = setup({ statuses: async () => [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 5, last_epoch: 1 }) }] });
      await verified.recovery.recover();
      verified.replica.grantVote(5, 2);
      verified.replica.beginPromotion(5);
      verified.replica.stepDown();
      const peersNow = [equal];
      (verified.recovery as unknown as { peers: { statuses: () => Promise<unknown> } }).peers.statuses = async () => peersNow;
      await verified.recovery.recover();
      expect(verified.comparisons).toEqual([]);
    });
  });

  describe('entries of its file that do not match their checksum', () => {
    const original = { ...logEntry(2, 1, 'orig'), checksum: orderChecksum(logEntry(2, 1, 'orig')) };

    it('found at start: each is put back from a peer\'s committed copy that matches its checksum, before the catch-up', async () => {
      const { recovery, replica, catchUps, repairs } = setup({
        damaged: [2],
        statuses: async () => [
          // Has not committed order 2, and its log ends elsewhere: its copy, another order that matches its own checksum, is not the committed one.
          { peer: peer1, status: status(1, { last_no: 4, last_epoch: 1, commit_no: 1 }) },
          { peer: peer3, status: status(3, { role: 'leader', last_no: 5, last_epoch: 1, commit_no: 5 }) },
        ],
        copies: { 1: { ...logEntry(2, 1, 'other'), checksum: orderChecksum(logEntry(2, 1, 'other')) }, 3: original },
      });
      await recovery.recover();
      expect(repairs).toEqual([original]);
      expect(catchUps).toEqual([{ from: 3, verifyAfter: 0 }]);
      expect(replica.role).toBe('follower');
      expect(recovery.logDamaged).toBe(false);
    });

    it('a whole cluster restarting before the followers learnt the last commit point: the copy of a peer whose log ends exactly as this one\'s (not suspect) repairs it', async () => {
      const same = { last_no: 5, last_epoch: 1, commit_no: 1 }; // behind this one's commit point (5)
      const { recovery, replica, repairs } = setup({
        damaged: [2],
        statuses: async () => [
          { peer: peer1, status: status(1, { ...same, log_suspect: true }) }, // the same log, but suspect: no copy asked
          { peer: peer3, status: status(3, same) },
        ],
        copies: { 1: { ...logEntry(2, 1, 'other'), checksum: orderChecksum(logEntry(2, 1, 'other')) }, 3: original },
      });
      const done = recovery.recover();
      await delay(100);
      expect(repairs).toEqual([original]);
      recovery.onApplicationShutdown(); // no leader nor more advanced peer: the comparison with peers is another test's
      await done;
      expect(replica.role).not.toBe('leader');
    });

    it('with no committed copy that matches its checksum in reach: not ready, serving nothing, no source for its peers, until one answers', async () => {
      let copies: Partial<Record<number, OrderRecordDto>> = { 1: { ...original, quantity: 99 }, 3: { ...original, checksum: undefined } };
      const { recovery, replica, catchUps, repairs, state } = setup({
        damaged: [2],
        statuses: async () => [
          { peer: peer1, status: status(1, { last_no: 5, last_epoch: 1, commit_no: 5 }) },
          { peer: peer3, status: status(3, { role: 'leader', last_no: 5, last_epoch: 1, commit_no: 5 }) },
        ],
        get copies() {
          return copies;
        },
      });
      const done = recovery.recover();
      await delay(300);
      expect(repairs).toEqual([]);
      expect(catchUps).toEqual([]);
      expect(replica.role).toBe('recovering');
      expect(recovery.logDamaged).toBe(true);
      expect(state.logSuspect).toBe(true);
      expect(recovery.blockedBy).toBe(
        'order 2 in /data/order-2.sqlite does not match its checksum (changed or damaged on disk), and no peer has answered with a committed copy, ' +
          'nor a leader or a replica as advanced to fetch it from, yet: it serves nothing and asks again every second',
      );
      copies = { 1: original };
      await done;
      expect(repairs).toEqual([original]);
      expect(replica.role).toBe('follower');
      expect(state.logSuspect).toBe(false);
      expect(recovery.blockedBy).toBeUndefined();
    });

    /** Replica 2 recovered, then elected leader of epoch 2; replica 1 follows it with `commitNo` committed and holds the original order 2. */
    const leaderOfEpoch2 = async (commitNo: number) => {
      const followerOf2 = { peer: peer1, status: status(1, { leader: 2, epoch: 2, last_no: 5, last_epoch: 1, commit_no: commitNo }) };
      const leading = setup({ statuses: async () => [followerOf2], copies: { 1: original } });
      leading.recovery.onApplicationBootstrap();
      await delay(10);
      leading.replica.grantVote(2, 2);
      leading.replica.beginPromotion(2);
      leading.replica.becomeLeader(2);
      return leading;
    };

    it('above its own commit point: the source\'s copy takes its place by a catch-up, from the leader or a replica as advanced whose log is not suspect; with neither, it waits', async () => {
      const as = (id: number, over: Partial<ReplicaStatus> = {}) => ({ peer: id === 1 ? peer1 : peer3, status: status(id, { last_no: 7, last_epoch: 1, commit_no: 5, ...over }) });
      const from = async (statuses: PeerStatusLike[]) => {
        const r = setup({ damaged: [6], statuses: async () => statuses });
        (r.state as unknown as { status: () => ReplicaStatus }).status = () => status(2, { role: r.replica.role, last_no: 7, last_epoch: 1, commit_no: 5 });
        await r.recovery.recover();
        expect(r.truncated).toEqual([]); // nothing dropped before the source's copies are in hand
        expect(r.replica.role).toBe('follower');
        return r.catchUps[0];
      };
      // Not the suspect one, however advanced; the leader first, however far behind.
      expect(await from([as(1, { log_suspect: true, last_no: 9 }), as(3)])).toEqual({ from: 3, verifyAfter: undefined });
      expect(await from([as(1, { role: 'leader', last_no: 6 }), as(3, { last_no: 9 })])).toEqual({ from: 1, verifyAfter: undefined });

      const behind = setup({ damaged: [6], statuses: async () => [as(1, { last_no: 6 }), as(3, { last_no: 4 })] });
      (behind.state as unknown as { status: () => ReplicaStatus }).status = () => status(2, { role: behind.replica.role, last_no: 7, last_epoch: 1, commit_no: 5 });
      void behind.recovery.recover();
      await delay(300);
      expect(behind.truncated).toEqual([]);
      expect(behind.replica.role).toBe('recovering');
      expect(behind.catchUps).toEqual([]);
      expect(behind.recovery.blockedBy).toMatch(/^order 6 in \/data\/order-2.sqlite does not match its checksum/);

      // A committed one left unrepaired: no catch-up for the one above it either (it could not pass it).
      const committedLeft = setup({ damaged: [2, 6], statuses: async () => [as(3, { role: 'leader', commit_no: 1 })] });
      void committedLeft.recovery.recover();
      await delay(300);
      expect(committedLeft.catchUps).toEqual([]);
      expect(committedLeft.recovery.blockedBy).toMatch(/^orders 2, 6 in/);
    });

    it('a leader that no follower can give a committed copy steps down after a few rounds (the next leader can repair it)', async () => {
      const leading = await leaderOfEpoch2(3);
      // A replica that says it leads a newer epoch (this one paused, say) may hold another order above this one's commit point: not a copy.
      const newer = { ...logEntry(7, 3, 'newer'), checksum: orderChecksum(logEntry(7, 3, 'newer')) };
      (leading.recovery as unknown as { peers: { statuses: () => Promise<unknown> } }).peers.statuses = async () => [
        { peer: peer1, status: status(1, { leader: 2, epoch: 2, last_no: 5, last_epoch: 1, commit_no: 3 }) },
        { peer: peer3, status: status(3, { role: 'leader', leader: 3, epoch: 3, last_no: 8, last_epoch: 3, commit_no: 8 }) },
      ];
      (leading.recovery as unknown as { peers: { logPage: (p: ReplicaAddress, after: number) => Promise<unknown> } }).peers.logPage = async (p, after) =>
        ({ orders: p.id === 3 && after === 6 ? [newer] : [], last_no: 8 });
      const reasons: string[] = [];
      leading.recovery.cannotRepairWhileLeading$.subscribe((r) => reasons.push(r));
      (leading.log as unknown as { damagedEntries: () => number[] }).damagedEntries = () => [4, 7];
      (leading.log as unknown as { damaged$: Subject<number> }).damaged$.next(4);
      for (let waited = 0; reasons.length === 0 && waited < 8000; waited += 100) await delay(100); // three rounds, a second apart
      expect(leading.repairs).toEqual([]); // replica 1 has not committed order 4; replica 3's order 7 is not known committed here
      expect(reasons).toEqual(['orders 4, 7 in /data/order-2.sqlite do not match their checksums (changed or damaged on disk), and no follower has answered with a committed copy']);
    });

    it('found while following: it stops serving and recovers, repairing it first; while leading, it repairs it from a follower and keeps leading', async () => {
      const leader = { peer: peer3, status: status(3, { role: 'leader', last_no: 5, last_epoch: 1, commit_no: 5 }) };
      const follower = setup({ statuses: async () => [leader], copies: { 3: original } });
      follower.recovery.onApplicationBootstrap(); // subscribes, and starts the recovery
      await delay(10);
      expect(follower.replica.role).toBe('follower');
      follower.catchUps.splice(0);
      (follower.log as unknown as { damagedEntries: () => number[] }).damagedEntries = () => (follower.repairs.length > 0 ? [] : [2]);
      (follower.log as unknown as { damaged$: Subject<number> }).damaged$.next(2);
      await delay(50); // the recovery it starts: all fakes answer at once
      expect(follower.repairs).toEqual([original]);
      expect(follower.catchUps).toEqual([{ from: 3, verifyAfter: 0 }]);
      expect(follower.replica.role).toBe('follower');
      expect(errors).toContain('order 2 in its file does not match its checksum; it serves nothing until its whole log is verified again');
      expect(follower.meta.must_compare ?? 0).toBe(0); // the check at start finds it again: no comparison to remember

      // Met by a sync's gap repair as a committed-entry conflict: the same, not a difference with the leader.
      (follower.log as unknown as { damagedEntries: () => number[] }).damagedEntries = () => [2];
      errors.splice(0);
      follower.recovery.reverify(new CommittedEntryConflict(2, 5));
      expect(errors).toEqual(['order 2 in its file does not match its checksum; it serves nothing until its whole log is verified again']);
      expect(follower.meta.must_compare ?? 0).toBe(0);
      expect(follower.replica.role).toBe('recovering');
      follower.recovery.onApplicationShutdown();

      const leading = await leaderOfEpoch2(5);
      expect(leading.replica.role).toBe('leader');
      let damagedNow = [2];
      (leading.log as unknown as { damagedEntries: () => number[] }).damagedEntries = () => damagedNow;
      (leading.log as unknown as { repair: (c: OrderRecordDto) => Promise<void> }).repair = async (c) => {
        leading.repairs.push(c);
        damagedNow = [];
      };
      (leading.log as unknown as { damaged$: Subject<number> }).damaged$.next(2);
      await delay(50);
      expect(leading.repairs).toEqual([original]);
      expect(leading.replica.role).toBe('leader');
    });
  });

  it('does not catch up from a replica whose own log is suspect, however advanced (its copies would spread), nor take its own log meanwhile', async () => {
    let suspect = true;
    const { recovery, replica, catchUps } = setup({
      statuses: async () => [{ peer: peer1, status: status(1, { role: 'recovering', ready: false, last_no: 9, last_epoch: 1, commit_no: 5, ...(suspect && { log_suspect: true as const }) }) }],
    });
    const done = recovery.recover();
    await delay(300); // more than one round
    expect(catchUps).toEqual([]);
    expect(replica.role).toBe('recovering');
    expect(recovery.blockedBy).toBe('replica 1 is more advanced, but its own log may be damaged (log_suspect): it waits rather than take its log as it is');
    expect(recovery.logDamaged).toBe(false); // its own log is not in doubt
    suspect = false; // replica 1's log was verified
    await done;
    expect(catchUps).toEqual([{ from: 1, verifyAfter: 0 }]);
    expect(replica.role).toBe('follower');
  });

  it('a peer\'s request to compare again: checked against that peer\'s copy first; a real difference stops it serving and marks its log suspect', async () => {
    const mine = logEntry(2, 1, 'mine');
    const theirs = logEntry(2, 1, 'theirs');
    const leader = { peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 5, last_epoch: 1 }) };
    const same = setup({ statuses: async () => [leader], copies: { 1: mine, 2: mine } });
    await same.recovery.recover();
    await expect(same.recovery.compareOnRequest(4, 2)).rejects.toThrow('replica 4 is not a peer of replica 2');
    expect(await same.recovery.compareOnRequest(1, 2)).toBe("replica 2's order 2 is the same as replica 1's");
    expect(await same.recovery.compareOnRequest(1, 3)).toBe('replica 2 or replica 1 holds no order 3: nothing to compare');
    expect(same.replica.role).toBe('follower');

    let damaged = true;
    const { recovery, replica, meta } = setup({ statuses: async () => [leader], copies: { 1: theirs, 2: mine }, conflict: (verifying) => damaged && verifying });
    damaged = false;
    await recovery.recover();
    damaged = true;
    expect(await recovery.compareOnRequest(1, 2)).toBe("replica 2's order 2 differs from replica 1's: it verifies its whole log again");
    expect(replica.role).toBe('recovering');
    expect(recovery.logDamaged).toBe(true);
    expect((recovery as unknown as { state: { logSuspect: boolean } }).state.logSuspect).toBe(true);
    expect(meta.must_compare).toBe(1);
    expect(errors[0]).toBe(
      "replica 1 found its copy of order 2 differing from its own, and a third replica's copy is the same as replica 1's; it serves nothing until its whole log is verified again",
    );
    expect(await recovery.compareOnRequest(1, 2)).toBe("replica 2 is recovering: it compares its order 2 with replica 1's before it serves");
  });

  it('a request to compare while it recovers: settled before it serves, by a comparison from below that order or against the asker\'s copy; a difference makes it compare its whole log', async () => {
    const mine = logEntry(2, 1, 'mine');
    const theirs = logEntry(2, 1, 'theirs');
    const leader = { peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 5, last_epoch: 1, vouched_through: 5 }) };
    const recovering = "replica 2 is recovering: it compares its order 2 with replica 1's before it serves";
    // The request comes while its first comparison with the leader is under way (which began after
    // order 4, where its checksums stop vouching): checked against the asker's copy after it.
    const duringComparison = (copies: Partial<Record<number, OrderRecordDto>>) => {
      const made = setup({ statuses: async () => [leader], copies, vouched: 4 });
      let answer = '';
      made.onCatchUp(async () => {
        answer ||= await made.recovery.compareOnRequest(1, 2);
      });
      return { ...made, answer: () => answer };
    };

    const differs = duringComparison({ 1: theirs, 2: mine });
    await differs.recovery.recover();
    expect(differs.answer()).toBe(recovering);
    // The round that found the difference did not count; the next compared the whole log with the leader.
    expect(differs.catchUps).toEqual([
      { from: 3, verifyAfter: 4 },
      { from: 3, verifyAfter: 0 },
    ]);
    expect(differs.replica.role).toBe('follower');
    // Kept for a restart (1: its own file may be the damaged one) until that comparison cleared it.
    expect(differs.metaWrites.map((w) => w.must_compare).filter((v) => v !== undefined)).toEqual([1, 0]);
    expect(errors).toContain("replica 1 found its copy of order 2 differing from its own and a third replica's: it serves nothing until its whole log is compared again");

    // The same copy: settled, nothing more compared.
    const same = duringComparison({ 1: mine, 2: mine });
    await same.recovery.recover();
    expect(same.catchUps).toEqual([{ from: 3, verifyAfter: 4 }]);

    // The asker's copy out of reach: the round does not count, and the next one compares its log
    // with the leader's from just below that order, which settles it without the asker.
    const unreachable = duringComparison({ 2: mine });
    await unreachable.recovery.recover();
    expect(unreachable.catchUps).toEqual([
      { from: 3, verifyAfter: 4 },
      { from: 3, verifyAfter: 1 },
    ]);
    expect(unreachable.replica.role).toBe('follower');

    // Pending before its comparison began: that comparison starts below the order, and a
    // difference there (here, below its commit point) fails the round as any does; once the
    // copies match, it is settled without asking the asker.
    let differing = true;
    const pending = setup({ statuses: async () => [leader], copies: { 1: theirs, 2: mine }, vouched: 4, conflict: () => differing });
    expect(await pending.recovery.compareOnRequest(1, 2)).toBe(recovering);
    const pendingDone = pending.recovery.recover();
    await waitUntil(() => pending.catchUps.length === 1);
    await delay(20);
    expect(pending.replica.role).toBe('recovering');
    expect(pending.recovery.blockedBy).toContain("its log differs from replica 3's below its commit point");
    differing = false;
    await pendingDone;
    expect(pending.catchUps[0]).toEqual({ from: 3, verifyAfter: 1 });
    expect(pending.replica.role).toBe('follower');

    // Asked after the round's check, before it followed: compared as a follower, which stops it serving.
    const late = setup({ statuses: async () => [leader], copies: { 1: theirs, 2: mine }, vouched: 4 });
    const follow = late.state.acceptLeader.bind(late.state);
    let lateAnswer = '';
    late.state.acceptLeader = async (epoch: number, id: number) => {
      lateAnswer ||= await late.recovery.compareOnRequest(1, 2);
      return follow(epoch, id);
    };
    await late.recovery.recover();
    expect(lateAnswer).toBe(recovering);
    await waitUntil(() => late.catchUps.length === 2);
    expect(late.catchUps[1]).toEqual({ from: 3, verifyAfter: 0 });
    expect(errors).toContain(
      "replica 1 found its copy of order 2 differing from its own, and a third replica's copy is the same as replica 1's; it serves nothing until its whole log is verified again",
    );
    await late.recovery.recover();
    expect(late.replica.role).toBe('follower');
  });

  it('a deposed leader\'s recovery that found a committed difference compares its whole log next, not from its commit point', async () => {
    let differing = false;
    const { recovery, replica, catchUps } = setup({
      statuses: async () => [{ peer: peer3, status: status(3, { role: 'leader', epoch: replica.epoch < 7 ? 6 : 8, leader: 3, last_no: 9, last_epoch: 6, vouched_through: 9 }) }],
      vouched: 5,
      conflict: () => differing,
    });
    await recovery.recover();
    replica.grantVote(7, 2);
    replica.beginPromotion(7);
    replica.stepDown();
    differing = true;
    const done = recovery.recover();
    await waitUntil(() => catchUps.length === 2);
    differing = false;
    await done;
    expect(catchUps.map((c) => c.verifyAfter)).toEqual([5, undefined, 0]);
  });

  it('a restart remembers whether its own file may be the damaged one (must_compare 1) or a third copy sided with it (2)', () => {
    for (const [value, suspect] of [
      [1, true],
      [2, false],
    ] as const) {
      const { recovery } = setup({ statuses: async () => [], meta: { must_compare: value } });
      recovery.onApplicationBootstrap();
      expect(recovery.logDamaged).toBe(true);
      expect((recovery as unknown as { state: { logSuspect: boolean } }).state.logSuspect).toBe(suspect);
      recovery.onApplicationShutdown();
    }
  });

  it('TRUST_OWN_LOG=true (the operator kept this file) forgets the remembered difference at start: with nobody to compare with, it takes its log', async () => {
    const { recovery, replica, meta } = setup({ statuses: async () => [], meta: { must_compare: 1 }, trustOwnLog: true });
    recovery.onApplicationBootstrap();
    expect(recovery.logDamaged).toBe(false);
    await delay(20);
    await recovery.recover();
    expect(replica.role).toBe('follower');
    expect(meta.must_compare).toBe(0);
  });

  it('a difference found before a restart is remembered: not ready, vouching for nothing, until a comparison clears it', async () => {
    let leaderAnswers = false;
    const { recovery, replica, meta } = setup({
      statuses: async () => (leaderAnswers ? [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }] : []),
      meta: { must_compare: 1 },
    });
    recovery.onApplicationBootstrap();
    expect(recovery.logDamaged).toBe(true);
    expect(recovery.blockedBy).toBe("its log was found to differ from a peer's before it stopped, and must be compared again");
    await delay(300); // more than one round with nobody to compare with
    expect(replica.role).toBe('recovering');
    leaderAnswers = true;
    await recovery.recover();
    expect(replica.role).toBe('follower');
    expect(recovery.logDamaged).toBe(false);
    expect(meta.must_compare).toBe(0);
  });

  it('peers that reject its cluster token keep it not ready with that reason', async () => {
    const { recovery, replica } = setup({ statuses: () => Promise.reject(new ClusterTokenRejected([peer1, peer3])) });
    const done = recovery.recover();
    await delay(50);
    expect(recovery.blockedBy).toBe("peers reject this replica's cluster token (401)");
    expect(replica.role).toBe('recovering');
    recovery.onApplicationShutdown();
    await done;
    expect(replica.role).toBe('recovering');
  });
});
