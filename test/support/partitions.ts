import { acrossHostsLayout, Cluster, http, NetLab, OrderRow, StockRow, waitFor } from './cluster';
import { AckedOrder, expectConsistent, expectReadable } from './load';
import { HOSTS, startAcrossHosts } from './multihost';
import { stripAnsi } from './process';

/** The testkit's layout with two front ends: the second (`frontend-2`) on host `frontend2`, as the chaos partition runs have it. */
const TWO_FRONTENDS = acrossHostsLayout(2);

/** The partition suite's hosts: the multi-host ones plus a second front end's. */
export const PARTITION_HOSTS = [...HOSTS, ...TWO_FRONTENDS.frontendHosts.filter((h) => !(HOSTS as readonly string[]).includes(h))];

/** Which host each process runs on, the second front end (`frontend-2`) included. */
export const PARTITION_HOST_OF: Record<string, string> = TWO_FRONTENDS.hostOf;

export type CutMode = 'blackhole' | 'drop';

/** A partition between hosts `a` and `b` of `lab`: refused at once (blackhole) or silent (drop). */
export function cut(lab: NetLab, mode: CutMode, a: string, b: string): void {
  if (mode === 'blackhole') lab.blackhole(a, b);
  else lab.drop(a, b);
}

/**
 * The bazaar across the hosts of `lab` (see startAcrossHosts), with `LOG_LEVEL=log` so that every
 * replica writes "leading epoch E" when it starts to lead, which {@link leadershipClaimsFromLogs}
 * reads. With `secondFrontend`, a second front end runs on host `frontend2` (same port, its own
 * address and data directory), and the catalog pushes invalidations to both (FRONTEND_URLS).
 * Resolves once every front end names a leader.
 */
export async function startPartitionCluster(lab: NetLab, opts: { secondFrontend?: boolean } = {}): Promise<Cluster> {
  const hosts = Object.fromEntries(Object.entries(PARTITION_HOST_OF).map(([proc, host]) => [proc, lab.address(host)]));
  const frontendUrl = (host: string) => `http://${lab.address(host)}:30001`;
  const c = await startAcrossHosts(lab, {
    hosts,
    spawnPrefix: (proc) => lab.spawnPrefix(PARTITION_HOST_OF[proc]),
    env: { LOG_LEVEL: 'log' },
    envFor: opts.secondFrontend ? { catalog: { FRONTEND_URLS: `${frontendUrl('frontend')},${frontendUrl('frontend2')}` } } : {},
  });
  try {
    await leaderOf(c.frontend, 30000);
    if (opts.secondFrontend) {
      c.spawnApp('frontend-2', 'frontend');
      await leaderOf(secondFrontendUrl(c), 60000);
    }
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

/** The second front end's URL (same port as the first, on its own host). */
export function secondFrontendUrl(c: Cluster): string {
  return `http://${c.host('frontend-2')}:${c.ports.get('frontend')}`;
}

/** The leader and epoch front end `url` names, once it names one. */
export function leaderOf(url: string, timeoutMs = 20000): Promise<{ leader: number; epoch: number }> {
  return waitFor(`a leader named by ${url}`, async () => {
    const res = await http<{ leader: number; epoch: number }>(`${url}/leader`, { timeoutMs: 2000 });
    return res.status === 200 ? res.body : undefined;
  }, timeoutMs);
}

/** One reading of a replica's `/replication/status`. */
export interface StatusSample {
  at: number;
  id: number;
  role: string;
  epoch: number;
  leader: number | null;
  last_no: number;
  commit_no: number;
}

/**
 * Reads every replica's `/replication/status` every `everyMs` from the test's own namespace (which
 * no partition touches), so that the suite sees who claimed to lead which epoch and how each
 * replica's epoch moved, also while the replicas cannot see one another. A replica that does not
 * answer (killed, or busy) is simply missing from that round.
 */
export class ReplicaMonitor {
  readonly samples: StatusSample[] = [];
  private stopping = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly c: Cluster,
    private readonly ids = [1, 2, 3],
    everyMs = 100,
  ) {
    this.loop = (async () => {
      while (!this.stopping) {
        await Promise.all(this.ids.map((id) => this.sample(id)));
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  private async sample(id: number): Promise<void> {
    try {
      const res = await this.c.internal<Omit<StatusSample, 'at'>>(`${this.c.replica(id)}/replication/status`, { timeoutMs: 1000 });
      if (res.status === 200) this.samples.push({ ...res.body, id, at: Date.now() });
    } catch {
      /* not answering: no sample this round */
    }
  }

  /** Samples taken from `since` on. */
  since(since: number): StatusSample[] {
    return this.samples.filter((s) => s.at >= since);
  }

  async stop(): Promise<StatusSample[]> {
    this.stopping = true;
    await this.loop;
    return this.samples;
  }
}

/** epoch → the replicas seen leading it. A replica leads e when it says role leader, epoch e, and names itself leader. */
export function leadershipClaimsFromSamples(samples: StatusSample[]): Map<number, Set<number>> {
  const claims = new Map<number, Set<number>>();
  for (const s of samples) {
    if (s.role === 'leader' && s.leader === s.id) add(claims, s.epoch, s.id);
  }
  return claims;
}

/** epoch → the replicas whose log says "leading epoch E" (written when a promotion completes; needs LOG_LEVEL=log). */
export function leadershipClaimsFromLogs(c: Cluster, ids = [1, 2, 3]): Map<number, Set<number>> {
  const claims = new Map<number, Set<number>>();
  for (const id of ids) {
    for (const m of stripAnsi(c.log(`order-${id}`)).matchAll(/leading epoch (\d+)/g)) add(claims, Number(m[1]), id);
  }
  return claims;
}

/** Both kinds of evidence together. */
export function mergeClaims(...maps: Map<number, Set<number>>[]): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const m of maps) for (const [epoch, ids] of m) for (const id of ids) add(out, epoch, id);
  return out;
}

/** `{ epoch: [ids] }`, for messages and expectations. */
export function claimsObject(claims: Map<number, Set<number>>): Record<number, number[]> {
  return Object.fromEntries([...claims].sort((a, b) => a[0] - b[0]).map(([e, ids]) => [e, [...ids].sort()]));
}

/** Replicas whose epoch went down between two of their own consecutive samples (a restart included: the epoch is persisted). */
export function epochRegressions(samples: StatusSample[]): string[] {
  const last = new Map<number, StatusSample>();
  const out: string[] = [];
  for (const s of samples) {
    const prev = last.get(s.id);
    if (prev && s.epoch < prev.epoch) out.push(`replica ${s.id}: epoch ${prev.epoch} → ${s.epoch} at +${s.at - prev.at} ms`);
    last.set(s.id, s);
  }
  return out;
}

/** The runs of one epoch along a log: `[{ epoch, from, to }]`. */
export function epochRuns(log: OrderRow[]): { epoch: number; from: number; to: number }[] {
  const runs: { epoch: number; from: number; to: number }[] = [];
  for (const o of log) {
    const run = runs[runs.length - 1];
    if (run && run.epoch === o.epoch) run.to = o.order_no;
    else runs.push({ epoch: o.epoch, from: o.order_no, to: o.order_no });
  }
  return runs;
}

export interface LeaderChangeEntry {
  at: string;
  leader: number | null;
  epoch: number | null;
  reason: string;
}

/** A front end's leader changes (`/status.json`), oldest first. */
export async function leaderChanges(frontend: string): Promise<LeaderChangeEntry[]> {
  const res = await http<{ leader_changes: LeaderChangeEntry[] }>(`${frontend}/status.json`, { timeoutMs: 10000 });
  if (res.status !== 200) throw new Error(`${frontend}/status.json answered ${res.status}: ${res.text.slice(0, 200)}`);
  return [...res.body.leader_changes].reverse();
}

/** Whether the catalog's stocks are what `log` implies (SPEC §6.4), without asserting. */
function catalogInStep(stocks: StockRow[], log: OrderRow[]): boolean {
  return stocks.every((s) => {
    const mine = log.filter((o) => o.stock_name === s.name);
    const bought = mine.filter((o) => o.trade_type.toLowerCase() === 'buy').reduce((n, o) => n + o.quantity, 0);
    const sold = mine.filter((o) => o.trade_type.toLowerCase() === 'sell').reduce((n, o) => n + o.quantity, 0);
    return s.quantity === 100 - bought + sold && s.trade_volume === bought + sold;
  });
}

/**
 * Waits until all three replicas hold the same log — whole rows compared, so the epoch column
 * too — and the catalog is in step with it, both read in one round with the log read again after
 * the catalog (nothing moved meanwhile). A catalog trade whose order a leader has still to record
 * (its client got no answer) is recorded by the reconciler a moment later, so an earlier snapshot
 * could be a log that is still growing. Returns the snapshot; when that never happens within
 * `timeoutMs`, the last log read, for the assertions to show what differs.
 */
async function settledLog(c: Cluster, timeoutMs: number): Promise<OrderRow[][]> {
  let last: OrderRow[][] = [];
  try {
    return await waitFor('identical logs on every replica and the catalog in step with them', async () => {
      const tables = await Promise.all([1, 2, 3].map((id) => c.orderTable(id)));
      last = tables;
      const json = tables.map((t) => JSON.stringify(t));
      if (!json.every((j) => j === json[0])) return undefined;
      if (!catalogInStep(await c.stocksTable(), tables[0])) return undefined;
      return JSON.stringify(await c.orderTable(1)) === json[0] ? tables : undefined;
    }, timeoutMs);
  } catch (e) {
    process.stderr.write(`partitions: ${(e as Error).message}; sizes ${last.map((t) => t.length).join(', ')}\n`);
    return last;
  }
}

/**
 * The end of every partition scenario (SPEC §6.1–6.4 plus issue 16's epoch rules), on one settled
 * snapshot of the three logs:
 * - all three replicas hold the same log, rows and epoch column alike;
 * - 1..N without gaps, no request id twice, every acknowledged order at its number unchanged,
 *   and the catalog equal to what the log implies;
 * - epochs never decrease along the log;
 * - every acknowledged order reads back through each of `frontends`.
 * Returns the log.
 */
export async function expectAllKept(c: Cluster, acked: AckedOrder[], frontends: string[] = [c.frontend]): Promise<OrderRow[]> {
  const tables = await settledLog(c, 60000);
  const [log] = tables;
  const epochs = tables.map((t) => t.map((o) => o.epoch));
  expect(epochs[1]).toEqual(epochs[0]);
  expect(epochs[2]).toEqual(epochs[0]);
  expect(tables[1]).toEqual(log);
  expect(tables[2]).toEqual(log);
  await expectConsistent(c, log, acked);
  const backwards = log.filter((o, i) => i > 0 && o.epoch < log[i - 1].epoch).map((o) => `order ${o.order_no} at epoch ${o.epoch} after ${log[o.order_no - 2].epoch}`);
  expect(backwards).toEqual([]);
  for (const fe of frontends) await expectReadable({ frontend: fe }, acked);
  return log;
}

/**
 * One leader per epoch, and every entry of an epoch written by that leader:
 * - no epoch was ever led by two replicas (replica logs and status samples together);
 * - every epoch in the final log has exactly one replica that led it — the only replica that can
 *   have appended (and so acknowledged) that epoch's entries, since a replica appends as leader
 *   only at the epoch it leads, and followers only copy.
 * Returns the claims, for the timings line.
 */
export function expectOneLeaderPerEpoch(c: Cluster, samples: StatusSample[], log: OrderRow[]): Record<number, number[]> {
  const claims = mergeClaims(leadershipClaimsFromLogs(c), leadershipClaimsFromSamples(samples));
  const shown = claims.size === 0 ? {} : claimsObject(claims);
  const twice = Object.entries(shown).filter(([, ids]) => ids.length > 1);
  expect({ epochsWithTwoLeaders: twice }).toEqual({ epochsWithTwoLeaders: [] });
  const unattributed = [...new Set(log.map((o) => o.epoch))].filter((e) => (claims.get(e)?.size ?? 0) !== 1);
  expect({ logEpochsWithoutOneLeader: unattributed, claims: shown }).toEqual({ logEpochsWithoutOneLeader: [], claims: shown });
  return shown;
}

function add(map: Map<number, Set<number>>, epoch: number, id: number): void {
  let ids = map.get(epoch);
  if (!ids) map.set(epoch, (ids = new Set()));
  ids.add(id);
}
