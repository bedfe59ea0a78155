import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CacheStats } from '@app/contracts';
import { isCacheStats, type LoadResult } from '@app/loadgen';
import { http, initialStock, placeOrder, type Cluster } from '@app/testkit';
import { clusterProcesses } from '../bench/bench';
import { cpuDelta, cpuMsByProcess } from '../bench/process-cpu';
import { withCluster } from '../common/cluster-run';
import { BENCH_CLUSTER } from '../common/cluster-settings';
import { machineInfo } from '../common/environment';
import { formatMachine, timestamp } from '../common/format';
import { checkpoint, recordRunFailure, type ChildRegistry, type Lifecycle } from '../common/lifecycle';
import { formatLab, phaseFigures, restockTrades, summarize, type LabPhase, type LabPhaseName, type LabRound, type LabSummary } from './lab-figures';

export interface LabOptions {
  rounds: number;
  durationS: number;
  sessions: number;
  p: number;
  seed: number;
  outDir: string;
}

/** The lab's load as issue 18 states its target: 5 sessions, p = 0.8 (10 s, one fixed seed, so that every load makes the same choices). */
export const LAB_DEFAULTS = { rounds: 3, durationS: 10, sessions: 5, p: 0.8, seed: 7, outDir: 'results' } as const;

/** The `lab` command's options as given (`--duration`, `--out`…), any of them left out. */
export interface LabArgs {
  rounds?: number;
  duration?: number;
  sessions?: number;
  p?: number;
  seed?: number;
  out?: string;
}

/** The command's options with the defaults filled in. */
export function labOptions(args: LabArgs): LabOptions {
  return {
    rounds: args.rounds ?? LAB_DEFAULTS.rounds,
    durationS: args.duration ?? LAB_DEFAULTS.durationS,
    sessions: args.sessions ?? LAB_DEFAULTS.sessions,
    p: args.p ?? LAB_DEFAULTS.p,
    seed: args.seed ?? LAB_DEFAULTS.seed,
    outDir: args.out ?? LAB_DEFAULTS.outDir,
  };
}

/** The lab's trade p50 target (issue 18), in ms. */
export const LAB_TARGET_P50_MS = 10;

const STOCKS = 10;

export interface LabRecord extends LabSummary {
  kind: 'lab';
  started_at: string;
  machine: ReturnType<typeof machineInfo>;
  cluster_env: Record<string, string>;
  options: Omit<LabOptions, 'outDir'>;
  rounds: LabRound[];
  interrupted: boolean;
  error: string | null;
}

/** The client app as `npm run client` runs it. */
export const CLIENT_MAIN = join(__dirname, '..', '..', '..', 'client', 'src', 'main.js');

/**
 * One `client load` run against the cluster, as a child process like the user's (so its own code
 * is as cold as theirs each time); resolves to its `--json` result once it has exited.
 */
async function clientLoad(cluster: Cluster, options: LabOptions, children: ChildRegistry, signal: AbortSignal): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-lab-'));
  const json = join(dir, 'load.json');
  const args = [
    CLIENT_MAIN, 'load', '--url', cluster.frontend, '--sessions', String(options.sessions), '--p', String(options.p),
    '--duration', String(options.durationS), '--seed', String(options.seed), '--quiet', '--json', json,
  ];
  const { PATH, HOME } = process.env;
  const child = spawn(process.execPath, args, { env: { PATH: PATH ?? '', HOME: HOME ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const untrack = children.track(() => (child.exitCode === null && child.signalCode === null && child.pid ? [child.pid] : []));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // Ctrl-C: the client stops its sessions, checks what it placed and writes its result.
  const onAbort = (): void => void child.kill('SIGINT');
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const code = await new Promise<number | null>((done, failed) => {
      child.once('error', failed);
      child.once('exit', (c) => done(c));
    });
    checkpoint(signal);
    if (!existsSync(json)) throw new Error(`the client exited with code ${code} and no result: ${stderr.trim()}`);
    return JSON.parse(await readFile(json, 'utf8')) as LoadResult;
  } finally {
    signal.removeEventListener('abort', onAbort);
    untrack();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sells every stock back to its initial quantity through the public API, so that the next load trades as much as the first. */
export async function restock(cluster: Cluster): Promise<void> {
  const quantities: Record<string, number> = {};
  for (let k = 1; k <= STOCKS; k++) {
    const name = initialStock(k).stock_name;
    const res = await http<{ quantity: number }>(`${cluster.frontend}/stocks?stock_name=${name}`, { timeoutMs: 10_000 });
    if (res.status !== 200) throw new Error(`looking up ${name} to restock it answered ${res.status}`);
    quantities[name] = res.body.quantity;
  }
  for (const trade of restockTrades(quantities, initialStock(1).quantity)) {
    const res = await placeOrder(cluster.frontend, trade);
    if (res.status !== 200) throw new Error(`restocking ${trade.stock_name} (sell ${trade.quantity}) answered ${res.status}: ${res.text}`);
  }
}

/** The front end's cache counters, or null when they cannot be read. */
async function cacheStats(cluster: Cluster): Promise<CacheStats | null> {
  const res = await http<CacheStats>(`${cluster.frontend}/cache/stats`, { timeoutMs: 10_000 }).catch(() => null);
  return res?.status === 200 && isCacheStats(res.body) ? res.body : null;
}

/** One load (the client app against `cluster`) and the figures of it: latencies, the bazaar's CPU, the cache. */
export async function phase(name: LabPhaseName, cluster: Cluster, options: LabOptions, life: Lifecycle): Promise<LabPhase> {
  const processes = clusterProcesses(cluster);
  const cacheBefore = await cacheStats(cluster);
  const before = cpuMsByProcess(processes);
  const result = await clientLoad(cluster, options, life.children, life.signal);
  const cpu = cpuDelta(before, cpuMsByProcess(processes), 1);
  return phaseFigures(name, result, cpu, { before: cacheBefore, after: await cacheStats(cluster) });
}

/**
 * `npm run bench:lab`: the lab's load (`npm run client -- load`, 5 sessions, p = 0.8) on a fresh
 * cluster with the apps' default settings, twice per round: first right after the start, when
 * every process still runs its code unoptimised (V8 compiles the hot paths during the first
 * seconds of load), then again on the same processes after selling every stock back to its
 * initial quantity. Prints a row per load and the medians; writes <out>/lab-<timestamp>.json.
 */
export async function runLab(options: LabOptions, life: Lifecycle, log: (text: string) => void, print: (text: string) => void): Promise<number> {
  const started = new Date();
  const record: LabRecord = {
    ...recordHead('lab', started, options),
    rounds: [],
    cold_trade_p50_ms: null,
    warm_trade_p50_ms: null,
    warm_to_cold_p50: null,
    interrupted: false,
    error: null,
  };
  log(`machine: ${formatMachine(record.machine)}\n`);
  try {
    if (!existsSync(CLIENT_MAIN)) throw new Error(`the client is not built (no ${CLIENT_MAIN}): run npm run build`);
    for (let r = 1; r <= options.rounds; r++) {
      checkpoint(life.signal);
      log(`round ${r}/${options.rounds}: starting a fresh cluster (the apps' default settings)…\n`);
      const row: LabRound = { round: r, cold: null, warm: null };
      record.rounds.push(row);
      await withCluster(BENCH_CLUSTER, life.children, async (cluster) => {
        await cluster.waitLeading();
        log(`  cold load (${options.durationS} s)…`);
        row.cold = await phase('cold', cluster, options, life);
        log(` trade p50 ${row.cold.trade_p50_ms} ms\n  restocking, then the warm load…`);
        await restock(cluster);
        row.warm = await phase('warm', cluster, options, life);
        log(` trade p50 ${row.warm.trade_p50_ms} ms\n`);
      });
      const failed = [row.cold, row.warm].find((p) => p !== null && !p.passed);
      if (failed) throw new Error(`round ${r}'s ${failed.phase} load did not pass its check (errors, or orders not read back as placed)`);
    }
  } catch (err) {
    recordRunFailure(err, life.signal, record, log);
  }
  Object.assign(record, summarize(record.rounds));
  return finishRecord(record, options.outDir, formatLab(record.rounds, record, LAB_TARGET_P50_MS), log, print);
}

/** The fields every record of `bench:lab` starts with. */
export function recordHead<K extends string>(kind: K, started: Date, options: LabOptions) {
  return {
    kind,
    started_at: started.toISOString(),
    machine: machineInfo(),
    cluster_env: BENCH_CLUSTER.env,
    options: { rounds: options.rounds, durationS: options.durationS, sessions: options.sessions, p: options.p, seed: options.seed },
  };
}

/**
 * Writes a finished run's record as `<outDir>/<kind>-<timestamp>.json`, prints its table and gives
 * the command's exit code: 130 when interrupted, 1 after an error, else 0.
 */
export async function finishRecord(
  record: { kind: string; started_at: string; interrupted: boolean; error: string | null },
  outDir: string,
  table: string,
  log: (text: string) => void,
  print: (text: string) => void,
): Promise<number> {
  await mkdir(resolve(outDir), { recursive: true });
  const file = resolve(outDir, `${record.kind}-${timestamp(new Date(record.started_at))}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, 'utf8');
  print(table);
  log(`written to ${file}\n`);
  if (record.interrupted) return 130;
  return record.error === null ? 0 : 1;
}
