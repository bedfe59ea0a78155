import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, http, NetLab, settlesWithin, sleep, startAcrossHosts } from '@app/testkit';
import {
  check,
  CheckReport,
  ClientOp,
  FaultEvent,
  historyStats,
  HistoryStats,
  isClientFailure,
  LogRow,
  frontendOutages,
  NemesisMode,
  partitionWindows,
  referenceLog,
  StockRow,
  tradesByKey,
} from '@app/verify';
import { readBack, runSessions, sessionClients, TRADE_TIMEOUT_MS } from './clients';
import { CrossingReader, type CrossingFigures } from './crossing-reader';
import { OutageReader, type OutageFigures } from './outage-reader';
import { HistoryWriter } from './history';
import { createLab, partitionAvailability } from './hosts';
import { CATALOG_FAULT_KINDS, faultKindsFor } from './faults';
import { FaultKind, Nemesis } from './nemesis';
import { partitionFigures, type PartitionFigures } from './partition-figures';
import { PushRelays } from './push-relays';
import { formatSummary, SummaryInput } from './summary';
import { LeaderSightings, type ElectionFigures } from './leader-sightings';
import { runVerdict } from './verdict';

/** The partition nemesis was asked for where network namespaces cannot be made. */
export class PartitionsUnavailable extends Error {
  constructor(reason: string) {
    super(`the partition nemesis needs network namespaces, and they cannot be made here: ${reason}`);
  }
}

export interface ChaosOptions {
  /** Seconds of load and faults. */
  duration: number;
  seed: number;
  sessions: number;
  /** Front ends (default 1); each request goes to one at random. With partitions, each on a namespace host of its own. */
  frontends?: number;
  /** The cache lease (CACHE_LEASE_MS) of the catalog and the front ends (default: the apps' own). */
  leaseMs?: number;
  nemesis: NemesisMode;
  /** Directory for history.jsonl, report.json, summary.txt, the final state and the process logs. */
  out: string;
  keepData: boolean;
  /** Probability that a lookup is followed by a trade (default 0.6). */
  tradeProbability?: number;
  /** Seconds after the run during which trades with an unknown outcome are still retried (default 30). */
  graceSeconds?: number;
  /** Bound on the wait for convergence after healing, in seconds (default 60). */
  convergeSeconds?: number;
  /**
   * Fault kinds the nemesis may pick (default: {@link faultKindsFor}: every process fault, the front
   * ends' included with two or more). With `partition` the
   * cluster runs across network namespaces (root only; {@link PartitionsUnavailable} otherwise).
   */
  faults?: FaultKind[];
  /** Where the cluster's data directory goes (default: the OS temporary directory). */
  baseDir?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Called with the cluster as soon as it runs (so a caller can kill it on a hard exit). */
  onCluster?: (c: Cluster | null) => void;
  /** Called with the namespaces as soon as they exist (so a caller can remove them on a hard exit). */
  onLab?: (lab: NetLab | null) => void;
}

export interface FinalState {
  logs: Record<string, LogRow[] | null>;
  catalog: StockRow[];
  /** Whether the logs were identical, every replica ready and the catalog in step before the bound. */
  converged: boolean;
  convergeMs: number;
}

export type { ElectionFigures };

export interface ChaosReport {
  /**
   * Every check passed, the cluster settled after every partition and at the end ({@link ChaosReport.unsettled} empty),
   * and the nemesis had no error ({@link ChaosReport.nemesisErrors} empty).
   */
  ok: boolean;
  options: { duration: number; seed: number; sessions: number; frontends: number; leaseMs?: number; nemesis: NemesisMode; faults: string[]; tradeProbability: number; graceSeconds: number; convergeSeconds: number };
  startedAt: string;
  /** Wall-clock ms of each phase. */
  timings: { startup: number; run: number; heal: number; drain: number; converge: number; readback: number; total: number };
  stats: HistoryStats;
  faultsInjected: Record<string, number>;
  faults: FaultEvent[];
  /** Where the processes ran: loopback, or each on its own network namespace host. */
  network: 'loopback' | 'namespaces';
  /** Leader changes seen by polling every front end's `/leader` during the run (counted per front end, added up), and the last epoch. */
  elections: ElectionFigures;
  /** Each partition: what was cut (its shape and scope), its span, trades acknowledged in it, the longest stretch without one, and the failures it excused. */
  partitions: PartitionFigures[];
  /** The times the cluster did not settle, after a partition or at the end of the run (see `unsettled` in partition-figures.ts): any fails the run. */
  unsettled: string[];
  /** The nemesis's `error` events (a failed restart, a process not ready or serving in time, an exception in the nemesis): any fails the run. */
  nemesisErrors: string[];
  /** The crossing reader's session and read pairs (runs with lose-pushes or partitions, and two or more front ends; see {@link CrossingReader}). */
  crossing?: CrossingFigures;
  /** The outage reader's session and reads (runs with the catalog's faults; see {@link OutageReader}). */
  outage?: OutageFigures;
  converged: boolean;
  reference: string | null;
  checks: CheckReport['checks'];
  /** Each client-visible failure with the faults around it (from 5 s before it started to its end). */
  failureContext: { op: number; session: number; what: string; invoke: number; complete: number; status: number; error?: string; faults: string[] }[];
  files: { history: string; report: string; summary: string; finalState: string; processLogs: string; data?: string };
  interrupted?: boolean;
}

const REPLICA_NAMES = ['order-1', 'order-2', 'order-3'];


/**
 * One chaos run: a fresh cluster, concurrent client sessions and the nemesis for `duration`
 * seconds, then heal, wait for convergence, read the final state, look every acknowledged order up,
 * and check the history. The cluster is always stopped, whatever happens.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const signal = opts.signal ?? new AbortController().signal;
  const tradeProbability = opts.tradeProbability ?? 0.6;
  const graceSeconds = opts.graceSeconds ?? 30;
  const convergeSeconds = opts.convergeSeconds ?? 60;
  mkdirSync(opts.out, { recursive: true });
  const files = {
    history: join(opts.out, 'history.jsonl'),
    report: join(opts.out, 'report.json'),
    summary: join(opts.out, 'summary.txt'),
    finalState: join(opts.out, 'final-state.json'),
    processLogs: join(opts.out, 'logs'),
  };
  const t0 = Date.now();
  let history = new HistoryWriter(files.history, performance.now());
  const timings = { startup: 0, run: 0, heal: 0, drain: 0, converge: 0, readback: 0, total: 0 };
  const phase = async <T>(key: keyof typeof timings, f: () => Promise<T>): Promise<T> => {
    const s = Date.now();
    try {
      return await f();
    } finally {
      timings[key] = Date.now() - s;
    }
  };

  const frontends = opts.frontends ?? 1;
  const faults = opts.faults ?? faultKindsFor(undefined, frontends, opts.leaseMs);
  faultKindsFor(faults, frontends, opts.leaseMs); // throws when these kinds cannot run with this many front ends, or this lease
  let lab: NetLab | null = null;
  if (faults.includes('partition')) {
    const available = partitionAvailability();
    if (!available.ok) throw new PartitionsUnavailable(available.reason);
    const made = createLab(frontends);
    lab = made.lab;
    opts.onLab?.(lab);
    if (made.stale.length > 0) log(`removed namespaces of dead runs: ${made.stale.join(', ')}`);
    log(`network namespaces ${lab.plan.prefix}* on ${lab.plan.subnet}: each process on its own host`);
  }
  const destroyLab = () => {
    lab?.destroy();
    opts.onLab?.(null);
  };
  let relays: PushRelays | null = null;
  try {
    // On namespace hosts the catalog reaches the relays at the root namespace's address on the bridge.
    relays = faults.includes('lose-pushes') ? await PushRelays.start(frontends, lab?.plan.rootAddress) : null;
  } catch (e) {
    destroyLab();
    throw e;
  }

  log(`starting a cluster (data under ${opts.baseDir ?? 'the OS temporary directory'}) …`);
  let c: Cluster;
  try {
    const env = opts.leaseMs !== undefined ? { CACHE_LEASE_MS: String(opts.leaseMs) } : undefined;
    const options = { baseDir: opts.baseDir, frontends, env, ...relays?.clusterOptions() };
    c = await phase('startup', () => (lab ? startAcrossHosts(lab, options) : Cluster.start(options)));
  } catch (e) {
    destroyLab();
    await relays?.stop();
    throw e;
  }
  opts.onCluster?.(c);
  relays?.attach(c);
  let nemesis: Nemesis | undefined;
  let crossing: CrossingReader | undefined;
  let outage: OutageReader | undefined;
  let elections: ElectionFigures = { observed: 0, epochs: 0, finalEpoch: null };
  let final: FinalState = { logs: {}, catalog: [], converged: false, convergeMs: 0 };
  let report: CheckReport = { ok: false, reference: null, checks: [] };
  let dataKept: string | undefined;
  try {
    const targets = c.frontendNames.map((name) => ({ name, url: c.url(name) }));
    log(`cluster up in ${timings.startup} ms: front end${targets.length > 1 ? 's' : ''} ${c.frontendUrls.join(', ')}, data ${c.dataDir}`);
    log(`running ${opts.duration} s: ${opts.sessions} sessions, nemesis ${opts.nemesis}, seed ${opts.seed}`);
    // The history's clock starts with the load: t = 0 is the first client operation.
    history = new HistoryWriter(files.history, performance.now());
    const loadStart = Date.now();
    const end = loadStart + opts.duration * 1000;
    let issuing = true;
    const runId = `chaos${opts.seed}-${t0.toString(36)}`;
    const sessions = runSessions({
      frontends: targets,
      sessions: opts.sessions,
      seed: opts.seed,
      runId,
      tradeProbability,
      history,
      stopIssuing: () => !issuing || Date.now() >= end,
      retryDeadline: () => end + graceSeconds * 1000,
      signal,
    });
    // Aimed at the lost-push windows — lose-pushes, and a front end cut off from the catalog (the
    // nemesis, made below, says which) — reads through another front end, then the one losing its pushes.
    if ((relays || lab) && targets.length > 1) {
      const losing = { losing: () => [...new Set([...(relays?.losing() ?? []), ...(nemesis?.losingPushes() ?? [])])] };
      crossing = new CrossingReader({ clients: sessionClients(targets), relays: losing, session: opts.sessions + 1, history, stopIssuing: () => !issuing || Date.now() >= end, signal });
    }
    const crossingRun = crossing?.run();
    nemesis = new Nemesis(c, { mode: opts.nemesis, seed: opts.seed, history, deadline: end, signal, log, kinds: faults, net: lab ?? undefined, relays: relays ?? undefined });
    // Aimed at the catalog's outages, which the sessions meet inside trades: lookups all through them.
    if (faults.some((k) => CATALOG_FAULT_KINDS.includes(k))) {
      const out = nemesis;
      outage = new OutageReader({ clients: sessionClients(targets), catalogOut: () => out.catalogOut(), session: opts.sessions + 2, history, stopIssuing: () => !issuing || Date.now() >= end, signal });
    }
    const outageRun = outage?.run();
    const watcher = watchLeader(c.frontendNames, (fe) => c.url(fe), (fe) => nemesis!.frontends.get(fe) === 'up', history, log, () => !issuing || signal.aborted);
    const progress = setInterval(() => {
      const s = historyStats(history.ops);
      log(`  … ${Math.round((Date.now() - loadStart) / 1000)} s: ${s.reads.total} reads, ${s.trades.ok} trades acknowledged, ${s.trades.refused} refused, ` +
        `${s.tradeAttempts.unknown + s.reads.fail + s.reads.unknown + s.trades.failed} failed/unknown requests`);
    }, 15_000);
    try {
      await phase('run', () => nemesis!.run());
      issuing = false;
      if (!signal.aborted) {
        log('healing: every replica resumed or restarted …');
        await phase('heal', async () => {
          await nemesis!.heal();
          history.fault('heal', 'cluster', nemesis!.down().length === 0 ? 'every replica ready' : `still down: ${nemesis!.down().join(', ')}`);
          await nemesis!.frontendsSettle();
        });
      }
      await phase('drain', () => settlesWithin(Promise.all([sessions, crossingRun, outageRun]), graceSeconds * 1000 + TRADE_TIMEOUT_MS + 5000));
    } finally {
      clearInterval(progress);
      issuing = false;
      elections = await watcher;
    }
    if (signal.aborted) throw new Error('interrupted');

    log(`waiting for convergence (at most ${convergeSeconds} s) …`);
    final = await phase('converge', () => converge(c, convergeSeconds * 1000));
    log(final.converged ? `converged in ${final.convergeMs} ms` : `NOT converged after ${final.convergeMs} ms; checking the state as it is`);

    const acked = [...tradesByKey(history.ops).values()].filter((k) => k.outcome === 'ok').flatMap((k) => k.orderNos.map((order_no) => ({ order_no, key: k.key })));
    log(`reading back ${acked.length} acknowledged orders through the front end${targets.length > 1 ? 's' : ''} …`);
    await phase('readback', () => readBack(targets, history, acked, Date.now() + 120_000, 16));

    report = check({
      nemesis: opts.nemesis,
      ops: history.ops,
      logs: final.logs,
      catalog: final.catalog,
      partitions: partitionWindows(history.faults),
      frontendOutages: frontendOutages(history.faults),
    });
  } finally {
    opts.onCluster?.(null);
    try {
      await c.stop(true);
    } finally {
      destroyLab();
      await relays?.stop();
    }
    copyProcessLogs(c.dataDir, files.processLogs);
    if (!runVerdict(report.ok, history.faults).ok || opts.keepData) {
      dataKept = opts.keepData ? c.dataDir : join(opts.out, 'data');
      if (!opts.keepData) copySqlite(c.dataDir, dataKept);
    }
    if (!opts.keepData && !process.env.KEEP_E2E_DATA) rmSync(c.dataDir, { recursive: true, force: true });
  }
  timings.total = Date.now() - t0;
  writeFileSync(files.finalState, JSON.stringify(final, null, 1));
  const verdict = runVerdict(report.ok, history.faults);
  const result: ChaosReport = {
    ok: verdict.ok,
    options: { duration: opts.duration, seed: opts.seed, sessions: opts.sessions, frontends, leaseMs: opts.leaseMs, nemesis: opts.nemesis, faults, tradeProbability, graceSeconds, convergeSeconds },
    startedAt: new Date(t0).toISOString(),
    timings,
    stats: historyStats(history.ops),
    faultsInjected: nemesis?.injected ?? {},
    faults: history.faults,
    network: lab ? 'namespaces' : 'loopback',
    elections,
    partitions: partitionFigures(history.ops, history.faults),
    unsettled: verdict.unsettled,
    nemesisErrors: verdict.nemesisErrors,
    ...(crossing ? { crossing: crossing.figures } : {}),
    ...(outage ? { outage: outage.figures } : {}),
    converged: final.converged,
    reference: report.reference,
    checks: report.checks,
    failureContext: failureContext(history.ops, history.faults),
    files: { ...files, ...(dataKept ? { data: dataKept } : {}) },
  };
  writeFileSync(files.report, JSON.stringify(result, null, 2));
  return result;
}

/**
 * Polls every front end's `/leader` every 250 ms while it serves (`serving(fe)`: up, not paused,
 * killed or recovering), each on its own loop so that a slow one holds up no other, until
 * `stopped()`; records each change of leader or epoch a front end goes through in the history
 * (`leader` events, next to the faults, naming the front end) and counts them per front end (see
 * {@link LeaderSightings}). Resolves with the figures.
 */
async function watchLeader(
  frontends: readonly string[],
  urlOf: (fe: string) => string,
  serving: (fe: string) => boolean,
  history: HistoryWriter,
  log: (line: string) => void,
  stopped: () => boolean,
): Promise<ElectionFigures> {
  const sightings = new LeaderSightings(frontends);
  const several = frontends.length > 1;
  // The heal phase runs after `stopped()` turns true; elections then are not part of the run.
  const watch = async (fe: string) => {
    while (!stopped()) {
      if (serving(fe)) {
        const res = await http<{ leader?: number; epoch?: number }>(`${urlOf(fe)}/leader`, { timeoutMs: 1000 }).catch(() => null);
        if (!stopped() && res?.status === 200 && typeof res.body?.leader === 'number') {
          const epoch = typeof res.body.epoch === 'number' ? res.body.epoch : null;
          const seen = sightings.see(fe, res.body.leader, epoch);
          if (seen) {
            const detail = `epoch ${epoch ?? '?'}${several ? `, named by ${fe}` : ''}`;
            const e = history.fault('leader', `order-${res.body.leader}`, detail);
            if (seen === 'changed') log(`  [${(e.t / 1000).toFixed(1).padStart(6)} s] ${'leader'.padEnd(17)} order-${res.body.leader}  ${detail}`);
          }
        }
      }
      await sleep(250);
    }
  };
  await Promise.all(frontends.map(watch));
  return sightings.figures();
}

/**
 * Waits until every replica answers `/ping`, the three logs are identical, and the catalog's total
 * trade volume is the log's (an orphaned catalog trade gets recorded by the leader's reconciler),
 * twice in a row 300 ms apart — or until `timeoutMs`. Returns the state read last.
 */
async function converge(c: Cluster, timeoutMs: number): Promise<FinalState> {
  const start = Date.now();
  let previous = '';
  let state: FinalState = { logs: {}, catalog: [], converged: false, convergeMs: 0 };
  for (;;) {
    const ready = await Promise.all([1, 2, 3].map((id) => http(`${c.replica(id)}/ping`, { timeoutMs: 1000 }).then((r) => r.status === 200, () => false)));
    const logs: Record<string, LogRow[] | null> = {};
    for (const [i, name] of REPLICA_NAMES.entries()) logs[name] = await c.orderCopies(i + 1).catch(() => null);
    const catalog = await c.stocksTable().catch(() => [] as StockRow[]);
    state = { logs, catalog, converged: false, convergeMs: Date.now() - start };
    const tables = REPLICA_NAMES.map((n) => JSON.stringify(logs[n]));
    const ref = referenceLog(logs)?.rows ?? [];
    const logVolume = ref.reduce((s, r) => s + r.quantity, 0);
    const catalogVolume = catalog.reduce((s, r) => s + r.trade_volume, 0);
    const settled = ready.every(Boolean) && logs['order-1'] !== null && tables.every((t) => t === tables[0]) && logVolume === catalogVolume;
    const snapshot = tables[0] + JSON.stringify(catalog);
    if (settled && snapshot === previous) return { ...state, converged: true };
    previous = settled ? snapshot : '';
    if (Date.now() - start >= timeoutMs) return state;
    await sleep(300);
  }
}

/** Client-visible failures next to the nemesis events around them, to see which fault caused which failure. */
export function failureContext(ops: ClientOp[], faults: FaultEvent[]): ChaosReport['failureContext'] {
  return ops.filter(isClientFailure).map((o) => ({
    op: o.id,
    session: o.session,
    what: o.kind === 'trade' ? `trade ${o.key} attempt ${o.attempt}` : o.kind === 'read' ? `read ${o.stock_name}` : `readback ${o.order_no}`,
    invoke: o.invoke,
    complete: o.complete,
    status: o.status,
    ...(o.error ? { error: o.error } : {}),
    faults: faults.filter((f) => f.t >= o.invoke - 5000 && f.t <= o.complete).map((f) => `${f.t} ms ${f.kind} ${f.target}${f.detail ? ` (${f.detail})` : ''}`),
  }));
}

function copyProcessLogs(dataDir: string, to: string): void {
  try {
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(dataDir)) if (f.endsWith('.log')) copyFileSync(join(dataDir, f), join(to, f));
  } catch {
    /* no logs to copy */
  }
}

/** Copies the SQLite and JSON files of `dataDir`, and of its per-process subdirectories (namespace runs). */
function copySqlite(dataDir: string, to: string): void {
  try {
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(dataDir)) {
      const path = join(dataDir, f);
      if (statSync(path).isDirectory()) copySqlite(path, join(to, f));
      else if (/\.sqlite(-wal|-shm)?$/.test(f) || f.endsWith('.json')) copyFileSync(path, join(to, f));
    }
  } catch {
    /* nothing to copy */
  }
}

/** The printed summary of a run's report; `extra` adds or replaces parts (the CLI adds the failure context and more files). */
export function summarize(title: string, report: ChaosReport, extra: Partial<SummaryInput> = {}): string {
  return formatSummary({
    title,
    stats: report.stats,
    faultsInjected: report.faultsInjected,
    elections: report.elections,
    partitions: report.partitions,
    unsettled: report.unsettled,
    nemesisErrors: report.nemesisErrors,
    crossing: report.crossing,
    outage: report.outage,
    checks: report.checks,
    converged: report.converged,
    timings: report.timings,
    files: { history: report.files.history, report: report.files.report },
    ...extra,
  });
}
