import { Logger } from '@nestjs/common';
import { ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { ClusterTokenRejected, PeersClient } from '../cluster/peers.client';
import { ReplicaState } from '../cluster/replica-state';
import { CommittedEntryConflict, OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from './catch-up.service';
import { RecoveryService } from './recovery.service';
import { setTimeout as delay } from 'node:timers/promises';

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

/**
 * Replica 2 recovering, with fakes around it: its log (position only; the lock runs the function),
 * its peers' statuses (scripted), and a catch-up that records how it was asked and may refuse
 * with a committed-entry conflict. Its state is a real ReplicaState.
 */
function setup(opts: { statuses: () => Promise<{ peer: ReplicaAddress; status: ReplicaStatus }[]>; conflict?: (verifyAll: boolean) => boolean }) {
  const replica = new ReplicaState(2, { epoch: 0, votedFor: null, leader: null, commitNo: 5 });
  const observed: [number, number][] = [];
  const state = {
    id: 2,
    peers: [peer1, peer3],
    replica,
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
  const log = {
    exclusive: <T>(fn: () => Promise<T>) => fn(),
    lastPosition: () => ({ order_no: 5, epoch: 1 }),
    dbFile: '/data/order-2.sqlite',
  } as unknown as OrderLogService;
  const catchUps: { from: number; verifyAll: boolean }[] = [];
  const catchUp = {
    catchUpFrom: async (source: ReplicaAddress, _drop: boolean, verifyAll = false) => {
      catchUps.push({ from: source.id, verifyAll });
      if (opts.conflict?.(verifyAll)) throw new CommittedEntryConflict(2, 5);
      return { fetched: 0, dropped: 0 };
    },
  } as unknown as CatchUpService;
  const peers = { statuses: opts.statuses } as unknown as PeersClient;
  const recovery = new RecoveryService(state, log, peers, catchUp);
  return { recovery, replica, catchUps, observed };
}

describe('RecoveryService', () => {
  let errors: string[];

  beforeEach(() => {
    errors = [];
    Logger.overrideLogger({ log: () => undefined, warn: () => undefined, error: (m: unknown) => errors.push(String(m)) } as never);
  });
  afterAll(() => Logger.overrideLogger(false));

  it('first verifies the whole log against the leader, adopts its epoch and follows; a later recovery starts at the commit point', async () => {
    const { recovery, replica, catchUps, observed } = setup({
      statuses: async () => [
        { peer: peer1, status: status(1, { last_no: 9, last_epoch: 1 }) },
        { peer: peer3, status: status(3, { role: 'leader', epoch: 4, leader: 3, last_no: 8, last_epoch: 4 }) },
      ],
    });
    await recovery.recover();
    expect(catchUps).toEqual([{ from: 3, verifyAll: true }]);
    expect(observed).toEqual([[4, 3]]);
    expect(replica.role).toBe('follower');

    // Promoted, then deposed: it recovers again, comparing only past its commit point.
    replica.grantVote(5, 2);
    replica.beginPromotion(5);
    replica.stepDown();
    await recovery.recover();
    expect(catchUps[1]).toEqual({ from: 3, verifyAll: false });
  });

  it('with no leader, catches up from the most advanced peer (epoch of its last entry first), or takes its own log when none is ahead', async () => {
    const ahead = setup({
      statuses: async () => [
        { peer: peer1, status: status(1, { last_no: 20, last_epoch: 1 }) },
        { peer: peer3, status: status(3, { last_no: 6, last_epoch: 2 }) },
      ],
    });
    await ahead.recovery.recover();
    expect(ahead.catchUps).toEqual([{ from: 3, verifyAll: true }]);

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
    expect(errors).toEqual([expect.stringContaining('delete (or move aside) /data/order-2.sqlite* and start it again')]);
    expect(recovery.logDamaged).toBe(true); // its order lookups are refused meanwhile
    damaged = false; // say the operator restored the file
    await done;
    expect(replica.role).toBe('follower');
    expect(recovery.blockedBy).toBeUndefined();
    expect(recovery.logDamaged).toBe(false);
    expect(catchUps.map((c) => c.verifyAll)).toEqual([true, true]);
  });

  it('a follower whose sync met a committed entry that differs from the leader\'s stops following and verifies its whole log again: not ready, its log damaged', async () => {
    let damaged = false;
    const { recovery, replica, catchUps } = setup({
      statuses: async () => [{ peer: peer3, status: status(3, { role: 'leader', epoch: 1, last_no: 9, last_epoch: 1 }) }],
      // The damage shows only to a comparison from the log's start: past the commit point all is equal.
      conflict: (verifyAll) => damaged && verifyAll,
    });
    await recovery.recover();
    expect(replica.role).toBe('follower');
    damaged = true; // say a sync found it so
    recovery.reverify(new CommittedEntryConflict(2, 5));
    expect(replica.role).toBe('recovering'); // at once: its syncs and order lookups are refused from here on
    expect(errors).toEqual([expect.stringContaining("its log differs from the leader's: order 2 is committed")]);
    for (let i = 0; i < 600 && !recovery.logDamaged; i++) await delay(5);
    expect(recovery.logDamaged).toBe(true); // its order lookups are refused
    expect(recovery.blockedBy).toMatch(/^its log differs from replica 3's below its commit point/);
    expect(catchUps.map((c) => c.verifyAll)).toEqual([true, true]);
    recovery.reverify(new CommittedEntryConflict(2, 5)); // not a follower now: nothing more
    expect(errors).toHaveLength(2); // the first one, and recovery's own "not ready"
    damaged = false; // the operator rebuilt the file
    await recovery.recover();
    expect(replica.role).toBe('follower');
    expect(recovery.logDamaged).toBe(false);
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
