import type { ClusterStatusResponse, ReplicaStatusView } from '@app/contracts';
import { isClusterStatus } from '@app/loadgen';
import { duration, MAX_LEADER_CHANGES_SHOWN, renderStatus } from './status-view';

const URL = 'http://127.0.0.1:30001';

function replica(id: number, over: Partial<ReplicaStatusView> = {}): ReplicaStatusView {
  return {
    id,
    address: `http://127.0.0.1:2000${id}`,
    state: 'ready',
    role: 'follower',
    epoch: 4,
    last_no: 120,
    commit_no: 120,
    lag: 0,
    ...over,
  };
}

/** A healthy cluster: order-3 leads epoch 4, the others are in step. */
function status(over: Partial<ClusterStatusResponse> = {}): ClusterStatusResponse {
  return {
    time: '2024-05-06T10:20:30.456Z',
    frontend: { pid: 4242, uptime_s: 754 },
    catalog: { address: 'http://127.0.0.1:10001', state: 'up' },
    leader: { id: 3, epoch: 4, address: 'http://127.0.0.1:20003' },
    replicas: [replica(1), replica(2), replica(3, { state: 'leader', role: 'leader' })],
    cache: { enabled: true, capacity: 100, size: 10, hits: 931, misses: 69, evictions: 0, invalidations: 55, stale_fills_dropped: 0, offers_taken: 40, hit_ratio: 0.931 },
    leader_changes: [
      { at: '2024-05-06T10:18:25.000Z', leader: 3, epoch: 4, reason: 'leader order-2 did not answer /ping' },
      { at: '2024-05-06T10:07:56.000Z', leader: 2, epoch: 3, reason: 'start-up: no leader known' },
    ],
    ...over,
  };
}

/** The replica table's row of `order-<id>`, split on runs of spaces. */
function rowOf(text: string, id: number): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`order-${id} `));
  if (!line) throw new Error(`no row for order-${id} in\n${text}`);
  return line.trim().split(/\s{2,}/);
}

describe('renderStatus', () => {
  it('shows the front end, catalog, leader, cache, a row per replica and the leader changes', () => {
    const text = renderStatus(status(), URL);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Stock Bazaar at http://127.0.0.1:30001 — 2024-05-06 10:20:30Z');
    expect(text).toContain('front end  up 12m 34s, pid 4242');
    expect(text).toContain('catalog    up, http://127.0.0.1:10001');
    expect(text).toContain('leader     order-3, epoch 4, http://127.0.0.1:20003');
    expect(text).toContain('cache      hit ratio 93.1 % (931 hits, 69 misses); 10/100 entries, 0 evictions, 55 invalidations, 40 filled from trades');
    expect(text).toMatch(/^replica {2}address +state +epoch {2}last order {2}commit {2}lag$/m);
    expect(rowOf(text, 1)).toEqual(['order-1', 'http://127.0.0.1:20001', 'ready', '4', '120', '120', '0']);
    expect(rowOf(text, 3)).toEqual(['order-3', 'http://127.0.0.1:20003', 'leader', '4', '120', '120', '0']);
    const changes = lines.slice(lines.indexOf('leader changes (most recent first)') + 1);
    expect(changes[1]).toMatch(/^ {2}10:18:25 +\(2m 5s ago\) +order-3 +epoch 4 +leader order-2 did not answer \/ping$/);
    expect(changes[2]).toMatch(/^ {2}10:07:56 +\(12m 34s ago\) +order-2 +epoch 3 +start-up: no leader known$/);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('shows a down replica with dashes where it could not say', () => {
    const text = renderStatus(
      status({ replicas: [replica(1, { state: 'down', role: null, epoch: null, last_no: null, commit_no: null, lag: null }), replica(2), replica(3, { state: 'leader' })] }),
      URL,
    );
    expect(rowOf(text, 1)).toEqual(['order-1', 'http://127.0.0.1:20001', 'down', '-', '-', '-', '-']);
  });

  it("shows a recovering replica's lag behind the leader", () => {
    const text = renderStatus(
      status({ replicas: [replica(1, { state: 'recovering', role: 'recovering', epoch: 3, last_no: 75, commit_no: 70, lag: 45 }), replica(2), replica(3, { state: 'leader' })] }),
      URL,
    );
    expect(rowOf(text, 1)).toEqual(['order-1', 'http://127.0.0.1:20001', 'recovering', '3', '75', '70', '45']);
    expect(rowOf(text, 2)).toEqual(['order-2', 'http://127.0.0.1:20002', 'ready', '4', '120', '120', '0']);
  });

  it('says plainly when there is no leader', () => {
    const text = renderStatus(
      status({
        leader: null,
        replicas: [replica(1, { state: 'down' }), replica(2, { state: 'down' }), replica(3, { state: 'recovering' })],
        leader_changes: [{ at: '2024-05-06T10:20:29.000Z', leader: null, epoch: null, reason: 'leader order-3 did not answer /ping; no ready replica' }],
      }),
      URL,
    );
    expect(text).toContain('leader     none — no replica is elected: trades are refused with 503 until one is');
    expect(text).toMatch(/10:20:29 +\(1s ago\) +no leader +leader order-3 did not answer \/ping; no ready replica$/m);
  });

  it("lists a replica's detail message under the table", () => {
    const text = renderStatus(
      status({ replicas: [replica(1), replica(2, { state: 'down', detail: 'answers 401: wrong cluster token' }), replica(3, { state: 'leader' })] }),
      URL,
    );
    const lines = text.split('\n');
    const tableEnd = lines.findIndex((l) => l.startsWith('order-3 '));
    expect(lines.slice(tableEnd + 1, tableEnd + 3)).toEqual(['', 'order-2: answers 401: wrong cluster token']);
    expect(text).not.toContain('order-1:');
  });

  it('sorts replicas by id, shows a cache that is off or has seen no lookup, and no changes', () => {
    const text = renderStatus(status({ replicas: [replica(3, { state: 'leader' }), replica(1)], leader_changes: [] }), URL);
    expect(text.indexOf('order-1 ')).toBeLessThan(text.indexOf('order-3 '));
    expect(text).toContain('leader changes (most recent first)\n  none since the front end started\n');
    const off = renderStatus(status({ cache: { ...status().cache, enabled: false, hit_ratio: null } }), URL);
    expect(off).toContain('cache      off (CACHE_ENABLED=false)');
    const cold = renderStatus(status({ cache: { ...status().cache, hits: 0, misses: 0, hit_ratio: null } }), URL);
    expect(cold).toContain('cache      hit ratio - (no lookup yet) (0 hits, 0 misses)');
  });

  it(`lists at most ${MAX_LEADER_CHANGES_SHOWN} leader changes and says how many more there were`, () => {
    const changes = Array.from({ length: 14 }, (_, i) => ({ at: '2024-05-06T10:00:00.000Z', leader: 1, epoch: 14 - i, reason: `change ${i}` }));
    const text = renderStatus(status({ leader_changes: changes }), URL);
    expect(text).toContain('change 9');
    expect(text).not.toContain('change 10');
    expect(text).toContain('  … and 4 earlier');
  });

  it('formats durations', () => {
    expect([duration(0), duration(59.9), duration(61), duration(3600 * 2 + 65), duration(86400 * 3 + 3600)]).toEqual(['0s', '59s', '1m 1s', '2h 1m', '3d 1h']);
  });
});

describe('isClusterStatus', () => {
  it('accepts the fixtures and refuses bodies that miss what the view reads', () => {
    expect(isClusterStatus(status())).toBe(true);
    expect(isClusterStatus(status({ leader: null }))).toBe(true);
    expect(isClusterStatus({ ...status(), replicas: [{ id: 1 }] })).toBe(false);
    expect(isClusterStatus({ ...status(), cache: { enabled: true } })).toBe(false);
    expect(isClusterStatus({ ...status(), leader_changes: [{ at: 1 }] })).toBe(false);
    expect(isClusterStatus({ leader: 3 })).toBe(false);
  });
});
