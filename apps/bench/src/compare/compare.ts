import { mkdir, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FrontendRoutes } from '@app/contracts';
import type { Cluster } from '@app/testkit';
import { cacheTradedStocks, clusterPids, prepareOrders } from '../bench/bench';
import { cannon, type Measurement, type Target } from '../bench/cannon';
import { cpuMsOf } from '../bench/process-cpu';
import { tradeBody } from '../bench/scenarios';
import { withCluster } from '../common/cluster-run';
import { BENCH_CLUSTER } from '../common/cluster-settings';
import { backgroundCpu, buildProblems, findRoot, gitInfo, machineInfo } from '../common/environment';
import { formatMachine, timestamp, type GitInfo, type MachineInfo } from '../common/format';
import { checkpoint, recordRunFailure, type Lifecycle } from '../common/lifecycle';
import { baselineProblems, CLUSTER_APPS } from './baseline';
import { cpuPerTrade, formatCompareTable, pairOrder, ratioOf, summarizePairs, summarizeRounds, type CompareRound, type CompareSummary, type Pair } from './paired';

export interface CompareOptions {
  /** A checkout of this repository, built (`npm run build`), with its node_modules: the build to compare with. */
  baseline: string;
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  outDir: string;
}

export const COMPARE_DEFAULTS = { rounds: 3, durationS: 20, warmupS: 3, connections: 10, outDir: 'results' } as const;

export interface CompareRecord {
  kind: 'compare';
  started_at: string;
  machine: MachineInfo;
  background_cpu: number;
  current: { root: string; git: GitInfo };
  baseline: { root: string; git: GitInfo };
  settings: { rounds: number; duration_s: number; warmup_s: number; connections: number; cluster_env: Record<string, string>; notes: string[] };
  warnings: string[];
  rounds: CompareRound[];
  summary: CompareSummary | null;
  interrupted: boolean;
  error: string | null;
}

/** One trade on a keep-alive connection of its own: its status and latency in ms (any failure counts as status 0). */
function timedTrade(agent: Agent, frontend: string, body: string, signal: AbortSignal): Promise<{ status: number; ms: number }> {
  const url = new URL(`${frontend}/${FrontendRoutes.orders}`);
  return new Promise((done) => {
    const t0 = performance.now();
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 10_000, signal },
      (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
        res.on('error', () => done({ status: 0, ms: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done({ status: 0, ms: performance.now() - t0 }));
    req.end(body);
  });
}

const cpuOf = (cluster: Cluster): number | null => cpuMsOf(clusterPids(cluster));
/** Trades acknowledged in an autocannon run (2xx responses). */
const acknowledgedOf = (m: Measurement): number => m.responses - m.non_2xx;
const delta = (after: number | null, before: number | null): number | null => (after === null || before === null ? null : after - before);

/**
 * `npm run bench:compare`: two clusters, the baseline build's and this one's, run side by side
 * with the apps' default settings, so that the machine's drift (on a shared VM, up to 2× within
 * minutes) hits both alike. Each round:
 * - one trade at a time, alternating between the builds (ABBA): per pair, this build's latency
 *   over the baseline's;
 * - both builds loaded at once at `connections` each, sharing the cores: throughput ratio.
 * CPU per trade is summed over each build's five processes. Writes `<outDir>/compare-<timestamp>.json`.
 */
export async function runCompare(options: CompareOptions, life: Lifecycle, log: (text: string) => void, print: (text: string) => void): Promise<number> {
  const { signal, children } = life;
  const root = findRoot();
  const baselineRoot = resolve(options.baseline);
  const fatal = baselineProblems(baselineRoot);
  if (fatal.length > 0) {
    for (const p of fatal) log(`error: ${p}\n`);
    return 2;
  }
  const started = new Date();
  const record: CompareRecord = {
    kind: 'compare',
    started_at: started.toISOString(),
    machine: machineInfo(),
    background_cpu: 0,
    current: { root, git: gitInfo(root) },
    baseline: { root: baselineRoot, git: gitInfo(baselineRoot) },
    settings: {
      rounds: options.rounds,
      duration_s: options.durationS,
      warmup_s: options.warmupS,
      connections: options.connections,
      cluster_env: BENCH_CLUSTER.env,
      notes: [
        "both clusters: the apps' default settings (SQLITE_SYNCHRONOUS=FULL, ORDER_ACK_MODE=majority, …) with cluster_env on top",
        '1 connection: single trades alternating between the builds in ABBA order, one keep-alive connection to each front end; ratios are per pair, this build / baseline',
        'loaded: autocannon at `connections` against both front ends at once; throughput ratio this build / baseline',
        'CPU per trade: user + system time of the five processes of a build over the measured period, divided by its acknowledged trades; at 1 connection each cluster idles while the other works, and its idle CPU (heartbeats, pings) is included, which pulls that ratio towards 1',
      ],
    },
    warnings: [],
    rounds: [],
    summary: null,
    interrupted: false,
    error: null,
  };
  const warn = (text: string): void => {
    record.warnings.push(text);
    log(`warning: ${text}\n`);
  };
  log(`machine: ${formatMachine(record.machine)}\n`);
  record.background_cpu = await backgroundCpu();
  log(`background CPU use before starting: ${(record.background_cpu * 100).toFixed(1)} %\n`);
  if (record.background_cpu > 0.1) warn(`other processes used ${(record.background_cpu * 100).toFixed(0)} % of the CPU before the run: both builds share what is left, but the figures are noisier`);
  const describe = (g: GitInfo): string => `${g.commit?.slice(0, 10) ?? 'unknown commit'}${g.dirty ? ' (uncommitted changes)' : ''}`;
  log(`this build: ${root} at ${describe(record.current.git)}\nbaseline:   ${baselineRoot} at ${describe(record.baseline.git)}\n`);
  for (const p of buildProblems(root, CLUSTER_APPS)) warn(`this build: ${p}`);
  for (const p of buildProblems(baselineRoot, CLUSTER_APPS)) warn(`baseline: ${p}`);

  let unacknowledged = 0;
  const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
  try {
    log('starting the baseline cluster, then this build\'s…\n');
    await withCluster({ ...BENCH_CLUSTER, root: baselineRoot }, children, (baseline) => {
      checkpoint(signal);
      return withCluster(BENCH_CLUSTER, children, async (current) => {
        const clusters = [baseline, current] as const;
        for (const c of clusters) {
          checkpoint(signal);
          await prepareOrders(c.frontend);
          await cacheTradedStocks(c.frontend);
        }
        const sent = [0, 0];
        const trade = (k: 0 | 1) => timedTrade(agents[k], clusters[k].frontend, tradeBody(sent[k]++), signal);

        /** Alternating single trades for `seconds`; the pairs when measured. */
        const alternate = async (seconds: number): Promise<{ pairs: Pair[]; non2xx: number }> => {
          const pairs: Pair[] = [];
          let non2xx = 0;
          const end = performance.now() + seconds * 1000;
          for (let i = 0; performance.now() < end; i++) {
            checkpoint(signal);
            const ms = [0, 0];
            let acknowledged = true;
            for (const k of pairOrder(i)) {
              const r = await trade(k);
              if (r.status !== 200) {
                non2xx++;
                acknowledged = false;
              }
              ms[k] = r.ms;
            }
            // A refused trade can be fast: only pairs of acknowledged trades are compared.
            if (acknowledged) pairs.push({ baseline: ms[0], current: ms[1] });
          }
          return { pairs, non2xx };
        };
        const target = (c: Cluster): Target => ({ url: c.frontend, method: 'POST', path: `/${FrontendRoutes.orders}`, headers: { 'content-type': 'application/json' }, bodyFor: tradeBody });
        const loadBoth = (seconds: number): Promise<Measurement[]> =>
          Promise.all(clusters.map((c) => cannon(target(c), { connections: options.connections, durationS: seconds, signal })));

        for (let r = 0; r < options.rounds; r++) {
          const prefix = `[${r + 1}/${options.rounds}]`;
          log(`${prefix} 1 connection, alternating: `);
          let warmupFailures = 0;
          if (options.warmupS > 0) {
            log('warm-up… ');
            warmupFailures += (await alternate(options.warmupS)).non2xx;
          }
          log('measuring… ');
          let cpu0 = clusters.map(cpuOf);
          const single = await alternate(options.durationS);
          let cpu1 = clusters.map(cpuOf);
          const figures = summarizePairs(single.pairs);
          const c1: CompareRound['c1'] = {
            ...figures,
            baseline_cpu_ms_per_trade: cpuPerTrade(delta(cpu1[0], cpu0[0]), single.pairs.length),
            current_cpu_ms_per_trade: cpuPerTrade(delta(cpu1[1], cpu0[1]), single.pairs.length),
            non_2xx: single.non2xx,
          };
          log(`${figures.pairs} pairs, p50 ${figures.baseline_p50_ms} / ${figures.current_p50_ms} ms, pair ratio ${figures.median_pair_ratio}\n`);

          log(`${prefix} ${options.connections} connections each, both at once: `);
          if (options.warmupS > 0) {
            log('warm-up… ');
            for (const m of await loadBoth(options.warmupS)) warmupFailures += m.non_2xx + m.errors + m.timeouts;
          }
          log('measuring… ');
          cpu0 = clusters.map(cpuOf);
          const [mb, mc] = await loadBoth(options.durationS);
          cpu1 = clusters.map(cpuOf);
          const loaded: CompareRound['loaded'] = {
            connections: options.connections,
            baseline_requests_per_s: mb.requests_per_s,
            current_requests_per_s: mc.requests_per_s,
            throughput_ratio: ratioOf(mc.requests_per_s, mb.requests_per_s),
            baseline_p50_ms: mb.latency_ms.p50_ms,
            current_p50_ms: mc.latency_ms.p50_ms,
            baseline_cpu_ms_per_trade: cpuPerTrade(delta(cpu1[0], cpu0[0]), acknowledgedOf(mb)),
            current_cpu_ms_per_trade: cpuPerTrade(delta(cpu1[1], cpu0[1]), acknowledgedOf(mc)),
            non_2xx: mb.non_2xx + mb.errors + mb.timeouts + mc.non_2xx + mc.errors + mc.timeouts,
          };
          log(`${mb.requests_per_s} / ${mc.requests_per_s} req/s, ratio ${loaded.throughput_ratio}\n`);
          record.rounds.push({ c1, loaded });
          const failed = c1.non_2xx + loaded.non_2xx + warmupFailures;
          unacknowledged += failed;
          if (failed > 0) warn(`round ${r + 1}: ${failed} trades were not acknowledged (non-2xx or no answer; ${warmupFailures} of them in the warm-ups)`);
        }
      });
    });
  } catch (err: unknown) {
    recordRunFailure(err, signal, record, log);
  } finally {
    for (const a of agents) a.destroy();
  }

  record.summary = record.rounds.length > 0 ? summarizeRounds(record.rounds) : null;
  await mkdir(resolve(options.outDir), { recursive: true });
  const file = resolve(options.outDir, `compare-${timestamp(started)}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, 'utf8');
  if (record.summary) print(`\n${formatCompareTable(record.rounds, record.summary)}`);
  log(`\nwritten to ${file}\n`);
  if (record.interrupted) return 130;
  return record.error !== null || unacknowledged > 0 ? 1 : 0;
}
