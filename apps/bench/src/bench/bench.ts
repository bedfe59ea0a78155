import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort, http, settlesWithin, sleep, waitFor, type Cluster } from '@app/testkit';
import { withCluster } from '../common/cluster-run';
import { BENCH_CLUSTER } from '../common/cluster-settings';
import { backgroundCpu, buildProblems, findRoot, gitInfo, machineInfo, versions } from '../common/environment';
import { formatMachine, formatVersions, timestamp } from '../common/format';
import { checkpoint, recordRunFailure, type ChildRegistry, type Lifecycle } from '../common/lifecycle';
import { aggregate, formatBenchTable, formatComparison, type BenchRecord } from './bench-report';
import { cannon, type Measurement, type Target } from './cannon';
import { cpuDelta, cpuMsByProcess, formatByProcess } from './process-cpu';
import { CEILING_ADAPTERS, isCeiling, selectScenarios, tradeBody, TRADED_STOCKS, type CeilingServer, type Scenario } from './scenarios';
import { formatTargets, judgeTargets } from './targets';

export interface BenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  runs: number;
  only?: string[];
  outDir: string;
  /** An earlier bench JSON to compare with. */
  compare?: string;
}

export const BENCH_DEFAULTS = { connections: 10, durationS: 10, warmupS: 3, runs: 3, outDir: 'results' } as const;

const HOST = '127.0.0.1';
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Started {
  url: string;
  stop: () => Promise<void>;
}

/** Starts the ceiling app (built with the bench project) on a free port; resolves once it answers. */
async function startCeiling(children: ChildRegistry, server: CeilingServer): Promise<Started> {
  const main = join(__dirname, '..', 'ceiling', 'main.js');
  if (!existsSync(main)) throw new Error(`the ceiling app is not built (no ${main}): run npx nest build bench`);
  const port = await freePort();
  const { PATH, HOME } = process.env;
  const child: ChildProcess = spawn(process.execPath, [main], {
    // The same environment as the bazaar's processes get from the testkit (no NODE_ENV either).
    env: { PATH: PATH ?? '', HOME: HOME ?? '', CEILING_PORT: String(port), CEILING_HOST: HOST, CEILING_ADAPTER: CEILING_ADAPTERS[server] },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const untrack = children.track(() => (child.exitCode === null && child.signalCode === null && child.pid ? [child.pid] : []));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await settlesWithin(exited, 5000);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    untrack();
  };
  const url = `http://${HOST}:${port}`;
  try {
    await waitFor('the ceiling app', async () => {
      if (child.exitCode !== null) throw new Error(`the ceiling app exited: ${stderr.trim()}`);
      return (await http(`${url}/`, { timeoutMs: 1000 })).status === 200;
    }, 20000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/** Buys 50 shares of every stock (→ 50 left each), so that the trade scenario never hits 0 or capacity, and order 1 exists. */
export async function prepareOrders(frontend: string): Promise<void> {
  for (let k = 1; k <= TRADED_STOCKS; k++) {
    const res = await http(`${frontend}/orders`, { body: { stock_name: `Stock${k}`, trade_type: 'buy', quantity: 50 }, headers: JSON_HEADERS });
    if (res.status !== 200) throw new Error(`preparing orders: buy 50 Stock${k} answered ${res.status} ${res.text}`);
  }
}

/**
 * Looks up every stock the trade scenarios trade, as the lab's clients do between trades, so that
 * the front end caches them and holds a cache lease. Each trade then has the catalog push its
 * invalidation to the front end, and its answer refills the cache: the whole trade path. A front
 * end that has looked nothing up since its start holds no lease and gets no push, so trades
 * measured on it alone (`--only trade`, or right after a restart) would skip that step.
 */
export async function cacheTradedStocks(frontend: string): Promise<void> {
  for (let k = 1; k <= TRADED_STOCKS; k++) {
    const res = await http(`${frontend}/stocks?stock_name=Stock${k}`, { timeoutMs: 5000 });
    if (res.status !== 200) throw new Error(`caching the traded stocks: Stock${k} answered ${res.status} ${res.text}`);
  }
}

function targetFor(scenario: Scenario, urls: Partial<Record<CeilingServer | 'frontend', string>>): Target {
  const base = isCeiling(scenario) ? urls[scenario.server] : urls.frontend;
  if (!base) throw new Error(`no server for ${scenario.name}`);
  switch (scenario.name) {
    case 'ceiling-adapter':
    case 'ceiling':
    case 'ceiling-c5':
    case 'ceiling-adapter-c5':
    case 'ceiling-c64':
      return { url: base, path: '/' };
    case 'lookup-cached':
    case 'lookup-cached-c5':
    case 'lookup-uncached':
      return { url: base, path: '/stocks?stock_name=Stock1' };
    case 'order-lookup':
      return { url: base, path: '/orders?order_no=1' };
    case 'trade':
    case 'trade-c1':
    case 'trade-c64':
      return { url: base, method: 'POST', path: '/orders', headers: JSON_HEADERS, bodyFor: tradeBody };
  }
}

/** The bazaar's processes by name (front end first, in the order a trade meets them), with their pids. */
export function clusterProcesses(cluster: Cluster): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of ['frontend', 'catalog', 'order-1', 'order-2', 'order-3']) {
    const pid = cluster.pid(name);
    if (pid !== undefined) out[name] = pid;
  }
  return out;
}

/** The pids of the bazaar's processes (front end, catalog, the three replicas) running now. */
export function clusterPids(cluster: Cluster): number[] {
  return Object.values(clusterProcesses(cluster));
}

/** How long {@link idleCpu} lets the cluster settle, then measures it at rest. */
const IDLE_SETTLE_MS = 1000;
const IDLE_WINDOW_MS = 5000;

/**
 * The CPU each bazaar process uses at rest, in ms per second: what the heartbeats, elections,
 * lease renewals and metrics cost with no request coming in. Part of every scenario's CPU per
 * request, most of it at one connection.
 */
async function idleCpu(cluster: Cluster): Promise<Record<string, number> | null> {
  const processes = clusterProcesses(cluster);
  await sleep(IDLE_SETTLE_MS);
  const before = cpuMsByProcess(processes);
  await sleep(IDLE_WINDOW_MS);
  return cpuDelta(before, cpuMsByProcess(processes), IDLE_WINDOW_MS / 1000);
}

interface CacheStatsBody {
  enabled: boolean;
  hits: number;
  misses: number;
  invalidations: number;
}

async function cacheStats(frontend: string): Promise<CacheStatsBody | null> {
  try {
    const res = await http<CacheStatsBody>(`${frontend}/cache/stats`, { timeoutMs: 2000 });
    return res.status === 200 ? res.body : null;
  } catch {
    return null;
  }
}

/**
 * `npm run bench`: on a fresh cluster with the apps' default settings, autocannon at fixed
 * concurrency against each scenario (a warm-up first, then the measured runs), the bare NestJS
 * ceiling included; prints the table and writes `<outDir>/bench-<timestamp>.json`.
 * Resolves to the exit code (1 when any response was not 2xx or any request failed).
 */
export async function runBench(
  options: BenchOptions,
  life: Lifecycle,
  log: (text: string) => void,
  print: (text: string) => void = log,
): Promise<number> {
  const { signal, children } = life;
  const scenarios = selectScenarios(options.only);
  const root = findRoot();
  const started = new Date();
  const t0 = Date.now();
  const machine = machineInfo();
  const clusterEnv = BENCH_CLUSTER.env;
  const needsCluster = scenarios.some((s) => !isCeiling(s));
  const record: BenchRecord = {
    version: 1,
    kind: 'bench',
    started_at: started.toISOString(),
    wall_s: null,
    machine,
    versions: versions(root),
    git: gitInfo(root),
    settings: {
      connections: options.connections,
      duration_s: options.durationS,
      warmup_s: options.warmupS,
      runs: options.runs,
      cluster_env: clusterEnv,
      notes: [
        "bazaar processes: the apps' default settings (SQLITE_SYNCHRONOUS=FULL, ORDER_ACK_MODE=majority, CACHE_CAPACITY=100, …) with the variables in cluster_env on top",
        'lookup-uncached: the front end restarted with CACHE_ENABLED=false',
        'autocannon runs in this process, on the same machine as the servers; one request in flight per connection (no pipelining), keep-alive',
        'latency: every response, from autocannon\'s per-request timing, recorded at microsecond resolution (autocannon\'s own histogram keeps whole milliseconds; its figures are in each run\'s "autocannon" field)',
        'req/s: responses / measured seconds; with --runs N, every scenario is measured once per round, N rounds; figures are medians over the rounds, and the ratio to the ceiling is the median of the per-round ratios',
      ],
    },
    background_cpu: 0,
    cluster_idle_cpu_ms_per_s: null,
    warnings: [],
    scenarios: [],
    targets: [],
    interrupted: false,
    error: null,
  };
  const warn = (text: string): void => {
    record.warnings.push(text);
    log(`warning: ${text}\n`);
  };

  log(`machine: ${formatMachine(machine)}\n`);
  record.background_cpu = await backgroundCpu();
  log(`background CPU use before starting: ${(record.background_cpu * 100).toFixed(1)} % of ${machine.cores} cores\n`);
  log(`versions: ${formatVersions(record.versions)}\n`);
  log(`commit: ${record.git.commit ?? 'unknown'}${record.git.dirty ? ' (uncommitted changes)' : ''}\n`);
  log(`settings: ${options.connections} connections (5 for the -c5 scenarios, 64 for the -c64 ones), warm-up ${options.warmupS} s, ${options.runs} × ${options.durationS} s per scenario\n`);
  if (needsCluster) log(`cluster env: ${Object.entries(clusterEnv).map(([k, v]) => `${k}=${v}`).join(' ')} (everything else: the apps' defaults)\n`);
  if (record.background_cpu > 0.1) {
    warn(`other processes used ${(record.background_cpu * 100).toFixed(0)} % of the CPU before the run: figures will be lower and noisier than on an idle machine (use --runs 3 and compare medians)`);
  }
  for (const problem of buildProblems(root, needsCluster ? ['catalog', 'order', 'frontend', 'bench'] : ['bench'])) warn(problem);

  const runsOf = new Map<string, Measurement[]>(scenarios.map((s) => [s.name, []]));
  const checksOf = new Map<string, Record<string, unknown>[]>(scenarios.map((s) => [s.name, []]));

  /** One measured run of a scenario (after its warm-up), with what was checked around it. */
  const measure = async (scenario: Scenario, target: Target, round: number, cluster?: Cluster): Promise<void> => {
    checkpoint(signal);
    const connections = scenario.fixedConnections ?? options.connections;
    const prefix = options.runs > 1 ? `[${round + 1}/${options.runs}] ` : '';
    log(`${prefix}${scenario.name.padEnd(17)} ${scenario.request}, ${connections} connections: `);
    const onCluster = cluster !== undefined && !isCeiling(scenario);
    const trades = onCluster && scenario.request === 'POST /orders';
    if (trades && scenario.server === 'cache-on') await cacheTradedStocks(cluster.frontend);
    if (options.warmupS > 0) {
      log('warm-up… ');
      await cannon(target, { connections, durationS: options.warmupS, signal });
    }
    const before = onCluster ? await cacheStats(cluster.frontend) : null;
    log('measuring… ');
    const processes = onCluster ? clusterProcesses(cluster) : {};
    const cpuBefore = onCluster ? cpuMsByProcess(processes) : null;
    const run = await cannon(target, { connections, durationS: options.durationS, signal });
    const cpuAfter = onCluster ? cpuMsByProcess(processes) : null;
    const checks: Record<string, unknown> = {};
    const byProcess = cpuDelta(cpuBefore, cpuAfter, run.responses);
    if (byProcess !== null) {
      // Every bazaar process, summed (heartbeats included): what one request costs the machine.
      const total = Object.values(byProcess).reduce((a, b) => a + b, 0);
      checks.cpu_ms_per_request = Math.round(total * 1000) / 1000;
      checks.cpu_ms_per_request_by_process = byProcess;
    }
    if (onCluster) {
      const after = await cacheStats(cluster.frontend);
      checks.cache_enabled = after?.enabled ?? null;
      if (before && after && scenario.name.startsWith('lookup')) {
        const hits = after.hits - before.hits;
        const misses = after.misses - before.misses;
        checks.cache_hit_ratio = hits + misses > 0 ? Math.round((hits / (hits + misses)) * 10000) / 10000 : null;
      }
      if (before && after && trades && run.responses > 0) {
        // The stocks the catalog's pushes named to the front end, per trade: 1 at one connection, less when a push
        // carries several trades of a stock (a catalog batch's stocks go once each); 0 when nothing was pushed.
        checks.invalidations_per_trade = Math.round(((after.invalidations - before.invalidations) / run.responses) * 1000) / 1000;
      }
    }
    runsOf.get(scenario.name)!.push(run);
    checksOf.get(scenario.name)!.push(checks);
    log(
      `${run.requests_per_s.toFixed(0)} req/s, p50 ${run.latency_ms.p50_ms?.toFixed(3)} ms, p99 ${run.latency_ms.p99_ms?.toFixed(3)} ms` +
        `${byProcess !== null ? `, CPU ${(checks.cpu_ms_per_request as number).toFixed(3)} ms/request (${formatByProcess(byProcess)})` : ''}` +
        `${typeof checks.invalidations_per_trade === 'number' ? `, ${checks.invalidations_per_trade} stocks invalidated per trade` : ''}` +
        `${run.non_2xx + run.errors + run.timeouts > 0 ? `, ${run.non_2xx} non-2xx, ${run.errors + run.timeouts} errors` : ''}\n`,
    );
    if (run.non_2xx > 0) {
      const codes = Object.entries(run.status_codes).map(([c, n]) => `${n} × ${c}`).join(', ');
      warn(`${scenario.name}: ${run.non_2xx} responses were not 2xx (${codes})`);
    }
    if (scenario.name === 'lookup-uncached' && checks.cache_enabled !== false) warn('lookup-uncached: the front end did not report its cache as off');
    if (scenario.name.startsWith('lookup-cached') && typeof checks.cache_hit_ratio === 'number' && checks.cache_hit_ratio < 0.99) {
      warn(`${scenario.name}: cache hit ratio only ${checks.cache_hit_ratio}`);
    }
    if (checks.invalidations_per_trade === 0) warn(`${scenario.name}: the catalog pushed no invalidation to the front end`);
  };

  /**
   * Rounds: every scenario once per round, in the standard order, so that with several runs each
   * scenario and its ceiling are measured close together in time and drift of the machine's
   * background load affects both alike. The front end is restarted when the cache setting changes.
   */
  const body = async (cluster?: Cluster): Promise<void> => {
    const ceilings = new Map<CeilingServer, Started>();
    try {
      for (const s of scenarios) if (isCeiling(s) && !ceilings.has(s.server)) ceilings.set(s.server, await startCeiling(children, s.server));
      if (cluster && scenarios.some((s) => s.name === 'order-lookup' || s.request === 'POST /orders')) {
        checkpoint(signal);
        await prepareOrders(cluster.frontend);
      }
      if (cluster) {
        checkpoint(signal);
        record.cluster_idle_cpu_ms_per_s = await idleCpu(cluster);
        if (record.cluster_idle_cpu_ms_per_s) {
          const idle = record.cluster_idle_cpu_ms_per_s;
          const total = Object.values(idle).reduce((a, b) => a + b, 0);
          log(`cluster at rest: ${total.toFixed(1)} ms of CPU per second (${formatByProcess(idle, 1)}): heartbeats, elections, leases, metrics\n`);
        }
      }
      let cache: 'on' | 'off' = 'on';
      for (let round = 0; round < options.runs; round++) {
        for (const s of scenarios) {
          if (!isCeiling(s) && cluster && s.server !== `cache-${cache}`) {
            checkpoint(signal);
            cache = s.server === 'cache-off' ? 'off' : 'on';
            log(`restarting the front end with CACHE_ENABLED=${cache === 'on'}…\n`);
            await cluster.kill('frontend');
            await cluster.startFrontend({ CACHE_ENABLED: String(cache === 'on') });
          }
          const urls = Object.fromEntries([...ceilings].map(([server, c]) => [server, c.url]));
          await measure(s, targetFor(s, { ...urls, frontend: cluster?.frontend }), round, cluster);
        }
      }
    } finally {
      for (const c of ceilings.values()) await c.stop();
    }
  };

  try {
    if (needsCluster) {
      log('starting a fresh cluster…\n');
      await withCluster(BENCH_CLUSTER, children, (c) => body(c));
    } else {
      await body();
    }
  } catch (err: unknown) {
    recordRunFailure(err, signal, record, log);
  }
  record.scenarios = aggregate(scenarios, runsOf, checksOf, options.durationS);
  record.targets = judgeTargets(record.scenarios);

  record.wall_s = Math.round((Date.now() - t0) / 100) / 10;
  await mkdir(resolve(options.outDir), { recursive: true });
  const file = resolve(options.outDir, `bench-${timestamp(started)}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, 'utf8');

  print(`\n${formatBenchTable(record.scenarios)}\n`);
  print('latencies in ms over every response; vs ceiling = req/s ÷ the ceiling\'s req/s at the same connections\n');
  print(formatTargets(record.targets));
  if (options.compare) {
    try {
      const previous = JSON.parse(await readFile(options.compare, 'utf8')) as BenchRecord;
      print(`\n${formatComparison(record.scenarios, previous.scenarios, `${options.compare} (${previous.started_at}, commit ${previous.git?.commit?.slice(0, 10) ?? '?'})`)}\n`);
    } catch (err: unknown) {
      log(`warning: could not compare with ${options.compare}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  log(`\nwritten to ${file} (${record.wall_s.toFixed(0)} s)\n`);
  if (record.interrupted) return 130;
  const failed = record.error !== null || record.scenarios.some((s) => s.non_2xx > 0 || s.errors > 0);
  return failed ? 1 : 0;
}

