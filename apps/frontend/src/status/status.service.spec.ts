import { VersionedLruCache } from '@app/cache';
import { CacheStats, LeaderChange, ReplicaAddress, ReplicaStatus, StockInfo } from '@app/contracts';
import { Leader, LeaderElectionService } from '../leader/leader-election.service';
import { PingReading, ReplicasClient, StatusReading, failedChecks } from '../leader/replicas.client';
import { CatalogHealthClient } from './catalog-health.client';
import { STATUS_TTL_MS, StatusService, TOKEN_REJECTED_DETAIL } from './status.service';
import { setTimeout as delay } from 'node:timers/promises';

const replicas: ReplicaAddress[] = [1, 2, 3].map((id) => ({ id, url: `http://127.0.0.1:${20000 + id}` }));

function status(id: number, over: Partial<ReplicaStatus> = {}): StatusReading {
  return {
    kind: 'status',
    status: { id, role: 'follower', ready: true, epoch: 4, leader: 3, last_no: 10, last_epoch: 4, commit_no: 10, ...over },
  };
}

/** A StatusService over fakes whose answers the test sets; counts the calls to the replicas. */
function setup() {
  const readings = new Map<number, StatusReading>([
    [1, status(1)],
    [2, status(2)],
    [3, status(3, { role: 'leader' })],
  ]);
  const pings = new Map<number, PingReading>();
  const calls = { status: 0, ping: 0, catalog: 0 };
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const client = {
    replicas,
    statusTimeoutMs: 400,
    readStatus: async (r: ReplicaAddress) => {
      calls.status++;
      if (gate) await gate;
      return readings.get(r.id)!;
    },
    pingReading: async (r: ReplicaAddress) => {
      calls.ping++;
      return pings.get(r.id) ?? { state: 'ready' };
    },
  } as Partial<ReplicasClient> as ReplicasClient;
  const election = {
    current: { ...replicas[2], epoch: 4 } as Leader | null,
    history: [
      { at: '2024-01-01T00:00:02.000Z', leader: 3, epoch: 4, reason: 'no leader' },
      { at: '2024-01-01T00:00:01.000Z', leader: null, epoch: null, reason: 'no replica is ready (no leader)' },
    ] as LeaderChange[],
  };
  const stats: CacheStats = { enabled: true, capacity: 100, size: 3, hits: 3, misses: 1, evictions: 0, invalidations: 2, stale_fills_dropped: 0, offers_taken: 0 };
  const cache = { stats: () => ({ ...stats }) } as Partial<VersionedLruCache<StockInfo>> as VersionedLruCache<StockInfo>;
  let catalogState: 'up' | 'down' = 'up';
  const catalog = {
    address: 'http://127.0.0.1:10001',
    state: async () => {
      calls.catalog++;
      return catalogState;
    },
  } as Partial<CatalogHealthClient> as CatalogHealthClient;
  const service = new StatusService(election as unknown as LeaderElectionService, client, cache, catalog);
  return {
    service,
    readings,
    pings,
    calls,
    election,
    stats,
    setCatalog: (s: 'up' | 'down') => (catalogState = s),
    /** Holds every status call until the returned function is called. */
    hold: () => {
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release!();
      };
    },
  };
}

describe('StatusService', () => {
  it('maps states: the elected leader, ready followers, a recovering replica and one that does not answer', async () => {
    const t = setup();
    t.readings.set(1, { kind: 'unreachable', cause: 'refused' });
    t.readings.set(2, status(2, { role: 'recovering', ready: false, last_no: 4, commit_no: 4 }));
    t.pings.set(2, { state: 'not_ready', reason: 'recovery down' });
    const view = await t.service.view();
    expect(view.leader).toEqual({ id: 3, epoch: 4, address: 'http://127.0.0.1:20003' });
    expect(view.replicas).toEqual([
      { id: 1, address: replicas[0].url, state: 'down', role: null, epoch: null, last_no: null, commit_no: null, lag: null, detail: 'no answer: connection refused' },
      { id: 2, address: replicas[1].url, state: 'recovering', role: 'recovering', epoch: 4, last_no: 4, commit_no: 4, lag: 6, detail: 'recovery down' },
      { id: 3, address: replicas[2].url, state: 'leader', role: 'leader', epoch: 4, last_no: 10, commit_no: 10, lag: 0 },
    ]);
    // Only the replica that is not ready is asked /ping for its reason.
    expect(t.calls.ping).toBe(1);
  });

  it("computes lag against the leader's last order, and leaves it null when the leader's is unknown", async () => {
    const t = setup();
    t.readings.set(1, status(1, { last_no: 7 }));
    expect((await t.service.view()).replicas.map((r) => r.lag)).toEqual([3, 0, 0]);

    const u = setup();
    u.readings.set(3, { kind: 'unreachable', cause: 'timeout' });
    const view = await u.service.view();
    expect(view.replicas.map((r) => r.lag)).toEqual([null, null, null]);
    expect(view.replicas[2]).toMatchObject({ state: 'down', detail: 'no answer within 400 ms' });

    const none = setup();
    none.election.current = null;
    const leaderless = await none.service.view();
    expect(leaderless.leader).toBeNull();
    expect(leaderless.replicas.map((r) => [r.state, r.lag])).toEqual([
      ['ready', null],
      ['ready', null],
      ['ready', null],
    ]);
  });

  it('says a replica that answers 401 rejects this front end\'s cluster token, and never shows its answer', async () => {
    const t = setup();
    t.readings.set(2, { kind: 'refused', httpStatus: 401 });
    const view = await t.service.view();
    expect(view.replicas[1]).toEqual({
      id: 2,
      address: replicas[1].url,
      state: 'down',
      role: null,
      epoch: null,
      last_no: null,
      commit_no: null,
      lag: null,
      detail: TOKEN_REJECTED_DETAIL,
    });
    expect(TOKEN_REJECTED_DETAIL).toContain('(401)');
    expect(TOKEN_REJECTED_DETAIL).toContain('CLUSTER_TOKEN');
  });

  it('flags a ready replica that still claims to lead after another was elected', async () => {
    const t = setup();
    t.readings.set(2, status(2, { role: 'leader', epoch: 3 }));
    expect((await t.service.view()).replicas[1]).toMatchObject({ state: 'ready', detail: 'still claims to lead epoch 3' });
  });

  it('reports the hit ratio, null before any lookup, and the catalog, front end and leader changes', async () => {
    const t = setup();
    const view = await t.service.view();
    expect(view.cache).toMatchObject({ hits: 3, misses: 1, hit_ratio: 0.75, invalidations: 2 });
    expect(view.catalog).toEqual({ address: 'http://127.0.0.1:10001', state: 'up' });
    expect(view.frontend.pid).toBe(process.pid);
    expect(view.frontend.uptime_s).toBeGreaterThanOrEqual(0);
    expect(view.leader_changes.map((c) => c.leader)).toEqual([3, null]);
    expect(Date.parse(view.time)).not.toBeNaN();

    const fresh = setup();
    fresh.stats.hits = 0;
    fresh.stats.misses = 0;
    fresh.setCatalog('down');
    const empty = await fresh.service.view();
    expect(empty.cache.hit_ratio).toBeNull();
    expect(empty.catalog.state).toBe('down');
  });

  it('shares one assembly between concurrent callers and serves it again for STATUS_TTL_MS', async () => {
    const t = setup();
    const release = t.hold();
    const views = Array.from({ length: 20 }, () => t.service.view());
    await delay(10);
    release();
    const answers = await Promise.all(views);
    expect(new Set(answers).size).toBe(1);
    expect(t.calls).toMatchObject({ status: 3, catalog: 1 });

    await t.service.view();
    expect(t.calls.status).toBe(3);

    await delay(STATUS_TTL_MS + 20);
    t.election.current = { ...replicas[1], epoch: 5 };
    const later = await t.service.view();
    expect(t.calls).toMatchObject({ status: 6, catalog: 2 });
    expect(later.leader).toMatchObject({ id: 2, epoch: 5 });
  });

  it('assembles again after a failed assembly instead of keeping the failure', async () => {
    let calls = 0;
    const broken = new StatusService(
      { current: null, history: [] } as unknown as LeaderElectionService,
      {
        replicas,
        readStatus: async () => {
          calls++;
          throw new Error('boom');
        },
      } as Partial<ReplicasClient> as ReplicasClient,
      { stats: () => setup().stats } as Partial<VersionedLruCache<StockInfo>> as VersionedLruCache<StockInfo>,
      { address: 'x', state: async () => 'up' as const } as Partial<CatalogHealthClient> as CatalogHealthClient,
    );
    await expect(broken.view()).rejects.toThrow('boom');
    await expect(broken.view()).rejects.toThrow('boom');
    expect(calls).toBe(6);
  });
});

describe('failedChecks', () => {
  it("names the terminus checks that are down, with their messages, in one short line", () => {
    expect(failedChecks({ status: 'error', info: { database: { status: 'up' } }, error: { recovery: { status: 'down', role: 'recovering', last_no: 3 } } })).toBe(
      'recovery down',
    );
    expect(failedChecks({ status: 'error', error: { database: { status: 'down', message: 'SQLITE_BUSY' }, recovery: { status: 'down' } } })).toBe(
      'database down: SQLITE_BUSY; recovery down',
    );
    expect(failedChecks({ status: 'error', error: { recovery: { status: 'down', ready: false, reason: "peers reject this replica's cluster token (401)" } } })).toBe(
      "recovery down: peers reject this replica's cluster token (401)",
    );
    expect(failedChecks({ error: { database: { status: 'down', message: 'x'.repeat(500) } } })!.length).toBeLessThanOrEqual(120);
    // The bazaar's own error shape, as a replica's /ping answers while it recovers: the message is the reason.
    expect(failedChecks({ error: { code: 503, message: "not ready: peers reject this replica's cluster token (401)" } })).toBe(
      "not ready: peers reject this replica's cluster token (401)",
    );
    expect(failedChecks('<html>')).toBeUndefined();
    expect(failedChecks({ message: 'Service Unavailable' })).toBeUndefined();
    expect(failedChecks(null)).toBeUndefined();
  });
});
