import { ConfigService } from '@nestjs/config';
import { Subject } from 'rxjs';
import { OrderEnv, ReplicaRole, ReplicaStatus, validateEnv } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { ReplicaState } from '../cluster/replica-state';
import { PeersClient } from '../cluster/peers.client';
import { DiskHealthService } from '../orders/disk-health.service';
import { OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from '../recovery/catch-up.service';
import { RecoveryService } from '../recovery/recovery.service';
import { LeadershipService } from './leadership.service';
import { ReconcilerService } from './reconciler.service';
import { ReplicatorService } from './replicator.service';

/** Replica 3 of three; which peers answer a status call and how long the leader has lacked a majority are scripted. */
function setup(role: ReplicaRole) {
  const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '3', FOLLOWER_TIMEOUT_MS: '1000', PEER_TIMEOUT_MS: '2000' }));
  const state = { id: 3, role, epoch: 1, peers: [{ id: 1, url: 'http://r1' }, { id: 2, url: 'http://r2' }], majority: 2 } as unknown as ClusterStateService;
  const answering = new Set<number>([1, 2]);
  let statusCalls = 0;
  const peers = {
    statuses: async (list: { id: number; url: string }[], enough: number) => {
      statusCalls++;
      const up = list.filter((p) => answering.has(p.id)).map((peer) => ({ peer, status: { id: peer.id } as ReplicaStatus }));
      return up.slice(0, Math.max(enough, 0) || up.length);
    },
  } as unknown as PeersClient;
  const lost = { ms: 0 };
  const replicator = { quorumLostForMs: () => lost.ms, reachableFollowers: () => 0 } as unknown as ReplicatorService;
  const leadership = new LeadershipService(
    state,
    {} as OrderLogService,
    peers,
    {} as CatchUpService,
    replicator,
    {} as ReconcilerService,
    {} as RecoveryService,
    {} as DiskHealthService,
    config as unknown as ConfigService<OrderEnv, true>,
  );
  return { leadership, answering, lost, calls: () => statusCalls };
}

describe('LeadershipService.quorumRefusal (/ping: no replica cut off from a majority leads or is proposed)', () => {
  it('a leader gives up the job once out of contact with a majority for FOLLOWER_TIMEOUT_MS (when it starts refusing trades), not before', async () => {
    const { leadership, lost } = setup('leader');
    lost.ms = 0; // out of contact for FOLLOWER_TIMEOUT_MS (1000 ms), not more
    expect(await leadership.quorumRefusal()).toBeUndefined();
    lost.ms = 1;
    expect(await leadership.quorumRefusal()).toBe('leader cannot reach a majority: 1 of 3 replicas reachable for 1001 ms');
  });

  it('a follower that reaches one peer (2 of 3, itself included) is ready; one that reaches none is not', async () => {
    const a = setup('follower');
    a.answering.delete(2);
    expect(await a.leadership.quorumRefusal()).toBeUndefined();
    const b = setup('follower');
    b.answering.clear();
    expect(await b.leadership.quorumRefusal()).toBe('cannot reach a majority: 1 of 3 replicas reachable');
  });

  it('a follower remembers reaching a majority for FOLLOWER_TIMEOUT_MS, then asks again', async () => {
    const { leadership, answering, calls } = setup('follower');
    const t = Date.now();
    expect(await leadership.quorumRefusal(t)).toBeUndefined();
    expect(calls()).toBe(1);
    answering.clear();
    expect(await leadership.quorumRefusal(t + 500)).toBeUndefined();
    expect(calls()).toBe(1);
    expect(await leadership.quorumRefusal(Date.now() + 1500)).toMatch(/cannot reach a majority/);
    expect(calls()).toBe(2);
  });

  it('says nothing for a recovering or promoting replica (their own rules apply)', async () => {
    for (const role of ['recovering', 'promoting'] as const) {
      const { leadership, answering } = setup(role);
      answering.clear();
      expect(await leadership.quorumRefusal()).toBeUndefined();
    }
  });
});

describe('LeadershipService.onLeaderNotice (the front end names a leader)', () => {
  /** Replica 3, a follower with a real ReplicaState; a vote takes one turn (its durable write); no peer adopts anything. */
  function named() {
    const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '3', PEER_TIMEOUT_MS: '2000' }));
    const replica = new ReplicaState(3, { epoch: 0, votedFor: null, leader: null, commitNo: 0 });
    replica.follow();
    const peersList = [{ id: 1, url: 'http://r1' }, { id: 2, url: 'http://r2' }];
    const state = {
      id: 3,
      peers: peersList,
      majority: 2,
      replica,
      get role() {
        return replica.role;
      },
      get epoch() {
        return replica.epoch;
      },
      peer: (id: number) => peersList.find((p) => p.id === id),
      grantVote: async (epoch: number, candidate: number) => {
        await Promise.resolve();
        const decided = replica.decideVote(epoch, candidate);
        if (decided === 'granted') replica.grantVote(epoch, candidate);
        return decided !== 'refused';
      },
    } as unknown as ClusterStateService;
    const peers = { adoptEpoch: async () => false } as unknown as PeersClient;
    const stopped = { stop: () => undefined } as unknown as ReplicatorService & ReconcilerService;
    const disk = { problem: () => undefined } as unknown as DiskHealthService;
    const leadership = new LeadershipService(
      state,
      {} as OrderLogService,
      peers,
      {} as CatchUpService,
      stopped,
      stopped,
      {} as RecoveryService,
      disk,
      config as unknown as ConfigService<OrderEnv, true>,
    );
    return { leadership, replica };
  }

  it('the same announcement from two front ends at once promotes once, and both are accepted', async () => {
    const { leadership, replica } = named();
    await expect(Promise.all([leadership.onLeaderNotice(3, 1), leadership.onLeaderNotice(3, 1)])).resolves.toEqual([undefined, undefined]);
    expect(replica.role).toBe('promoting');
    expect(replica.leadsEpoch(1)).toBe(true);
    // A newer epoch for it starts the promotion again; an older one is refused.
    await leadership.onLeaderNotice(3, 2);
    expect(replica.leadsEpoch(2)).toBe(true);
    await expect(leadership.onLeaderNotice(3, 1)).rejects.toMatchObject({ status: 503, code: 'stale_epoch' });
    leadership.onApplicationShutdown();
  });
});

describe('LeadershipService: a leader whose own write of orders it sent fails', () => {
  it('steps down at once (those numbers may be on a follower) and recovers as a follower', () => {
    const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '3' }));
    const replica = new ReplicaState(3, { epoch: 1, votedFor: 3, leader: 3, commitNo: 0 });
    replica.follow();
    replica.beginPromotion(1);
    replica.becomeLeader(1);
    const state = { id: 3, replica, deposed$: new Subject() } as unknown as ClusterStateService;
    const log = { unwritten$: new Subject<string>() };
    const calls: string[] = [];
    const stopped = { stop: (reason?: string) => calls.push(`stop${reason ? `: ${reason}` : ''}`) } as unknown as ReplicatorService & ReconcilerService;
    const recovery = { recover: async () => void calls.push('recover') } as unknown as RecoveryService;
    const disk = { failed$: new Subject<string>() } as unknown as DiskHealthService;
    const leadership = new LeadershipService(
      state,
      log as unknown as OrderLogService,
      {} as PeersClient,
      {} as CatchUpService,
      stopped,
      stopped,
      recovery,
      disk,
      config as unknown as ConfigService<OrderEnv, true>,
    );
    leadership.onApplicationBootstrap();
    log.unwritten$.next('orders 5–6 were sent before their write failed: SQLITE_BUSY');
    // Synchronously: no later batch of this epoch may be numbered.
    expect(replica.mayAppendAsLeader(1)).toBe(false);
    expect(replica.role).toBe('recovering');
    expect(calls).toEqual(['stop: its own write of orders it sent failed', 'stop', 'recover']);
    leadership.onApplicationShutdown();
  });
});
