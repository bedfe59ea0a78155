import { ConfigService } from '@nestjs/config';
import { OrderEnv, ReplicaRole, ReplicaStatus, validateEnv } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
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

describe('LeadershipService.quorumRefusal (/ping: no replica cut off from a majority leads or is proposed, issue 16)', () => {
  it('a leader gives up the job after 2 × FOLLOWER_TIMEOUT_MS without a majority, not before', async () => {
    const { leadership, lost } = setup('leader');
    lost.ms = 1000; // out of contact for 2000 ms in all
    expect(await leadership.quorumRefusal()).toBeUndefined();
    lost.ms = 1001;
    expect(await leadership.quorumRefusal()).toMatch(/^leader cannot reach a majority: 1 of 3 replicas reachable/);
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
