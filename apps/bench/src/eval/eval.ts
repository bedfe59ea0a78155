import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { settingsEnv } from '@app/testkit';
import { deriveSeed, formatSweepTable, randomSeed, runLoad, runSweep, type SweepResult } from '@app/loadgen';
import { withCluster } from '../common/cluster-run';
import { EVAL_CLUSTER } from '../common/cluster-settings';
import { backgroundCpu, buildProblems, findRoot, gitInfo, machineInfo, versions } from '../common/environment';
import { formatMachine, formatVersions, timestamp } from '../common/format';
import { checkpoint, Interrupted, type Lifecycle } from '../common/lifecycle';
import { renderSvg } from '../common/plot';
import { failureSpec, hitRatioSpec, latencySpec, thinSamples } from './eval-plots';
import { evalMarkdown, type EvalRecord } from './eval-summary';
import { DEFAULT_SCHEDULE, failureRun, parseSamplesCsv, samplesCsv, type FailureRunResult } from './failure-run';
import { mergeSweeps } from './merge-sweeps';
import { aggregateRuns, type RunRow } from './repeats';

export interface EvalOptions {
  sessions: number;
  ps: number[];
  /** Per p: a number of iterations per session, or a duration (exactly one is set). */
  iterations?: number;
  durationS?: number;
  /** Runs of every p and cache state, each on its own fresh cluster; the table and plots show their median and spread. */
  repeats: number;
  seed?: number;
  /** Seconds of unrecorded load (p = 0.5) on each fresh cluster before its sweep; 0 for none. */
  warmupS: number;
  /** The failure run: skipped when `failureDurationS` is 0. */
  failureP: number;
  failureDurationS: number;
  /** Parent directory of `eval-<timestamp>/`. */
  outDir: string;
}

export const EVAL_DEFAULTS = {
  sessions: 5,
  ps: [0, 0.2, 0.4, 0.6, 0.8],
  /** With 3 repeats, 5 s runs keep the whole evaluation near 8 minutes on this machine (1 × 8 s took about 4). */
  durationS: 5,
  repeats: 3,
  warmupS: 3,
  failureP: 0.5,
  failureDurationS: 30,
  outDir: 'results',
} as const;

function seconds(fromMs: number): number {
  return Math.round((Date.now() - fromMs) / 100) / 10;
}

/**
 * `npm run eval`: the sweep with the cache on and then off (a fresh cluster for every p), then the
 * failure run (a fresh cluster), then results.json, summary.md and the plots in
 * `<outDir>/eval-<timestamp>/`. Partial results are written when interrupted or on an error.
 * Resolves to the exit code.
 */
export async function runEval(
  options: EvalOptions,
  life: Lifecycle,
  log: (text: string) => void,
  print: (text: string) => void = log,
): Promise<number> {
  const { signal, children } = life;
  const root = findRoot();
  const started = new Date();
  const dir = resolve(options.outDir, `eval-${timestamp(started)}`);
  await mkdir(dir, { recursive: true });
  const seed = options.seed ?? randomSeed();
  const machine = machineInfo();
  const record: EvalRecord = {
    version: 1,
    kind: 'eval',
    started_at: started.toISOString(),
    finished_at: null,
    wall_s: null,
    machine,
    background_cpu: await backgroundCpu(),
    versions: versions(root),
    git: gitInfo(root),
    cluster_env: { ...settingsEnv(EVAL_CLUSTER.settings), ...EVAL_CLUSTER.env },
    config: {
      sessions: options.sessions,
      ps: options.ps,
      iterations: options.iterations ?? null,
      duration_s: options.iterations === undefined ? (options.durationS ?? null) : null,
      repeats: options.repeats,
      seed,
      warmup_s: options.warmupS,
      failure:
        options.failureDurationS > 0
          ? { sessions: options.sessions, p: options.failureP, duration_s: options.failureDurationS, seed: deriveSeed(seed, 1000) }
          : null,
    },
    table: [],
    sweeps: { cache_on: null, cache_off: null },
    failure_run: null,
    files: [],
    interrupted: false,
    error: null,
  };

  log(`evaluation → ${relative(process.cwd(), dir) || dir}\n`);
  log(`machine: ${formatMachine(machine)}\n`);
  log(`background CPU use before starting: ${(record.background_cpu * 100).toFixed(1)} % of ${machine.cores} cores\n`);
  if (record.background_cpu > 0.1) log(`warning: other processes used ${(record.background_cpu * 100).toFixed(0)} % of the CPU before the run: latencies will be higher and noisier than on an idle machine\n`);
  log(`versions: ${formatVersions(record.versions)}\n`);
  for (const problem of buildProblems(root, ['catalog', 'order', 'frontend', 'bench'])) log(`warning: ${problem}\n`);
  const stop = options.iterations !== undefined ? `${options.iterations} iterations/session` : `${options.durationS} s`;
  log(`sweep: ${options.sessions} sessions, p = ${options.ps.join(', ')}, ${stop} per p, ${options.repeats} × each, seed ${seed}\n`);

  /**
   * One p of the sweep on its own fresh cluster, so every p starts from the initial catalog. On
   * one cluster the stocks' quantities drift from run to run, and a stock bought down to exactly 0
   * stays there (a session trades only a stock it finds in stock): by p = 0.8 every stock was
   * sold out and no trade was tried at all.
   */
  const sweepPointOnFreshCluster = (cache: 'on' | 'off', p: number, index: number, repeat: number): Promise<SweepResult> => {
    const tag = `[cache ${cache}] p=${p}${options.repeats > 1 ? ` run ${repeat + 1}/${options.repeats}` : ''}`;
    log(`\n${tag}: starting a fresh cluster…\n`);
    return withCluster(
      { ...EVAL_CLUSTER, envFor: cache === 'off' ? { frontend: { CACHE_ENABLED: 'false' } } : undefined },
      children,
      async (c) => {
        if (options.warmupS > 0) {
          // JIT, connection pools and SQLite pages warm, so that the run is not measured cold.
          log(`[cache ${cache}] warm-up: ${options.warmupS} s at p=0.5, not recorded… `);
          const warm = await runLoad({ url: c.frontend, sessions: options.sessions, p: 0.5, durationS: options.warmupS, seed: deriveSeed(seed, 3000 + index), signal });
          log(`${warm.load_total.count} requests, ${warm.errors.total} errors\n`);
          checkpoint(signal);
        }
        return runSweep({
          url: c.frontend,
          sessions: options.sessions,
          ps: [p],
          iterations: options.iterations,
          durationS: options.iterations === undefined ? options.durationS : undefined,
          // Run i of both sweeps gets the same seed, so they send the same lookups; each repeat its own.
          seed: deriveSeed(seed, index + 100 * repeat),
          signal,
          onRunStart: () => log(`${tag} (${index + 1}/${options.ps.length})… `),
          onPoint: (pt) => {
            const r = pt.result;
            log(
              `${r.requests.lookup.count} lookups, ${r.requests.trade.count} trades, ${r.load_total.throughput_rps.toFixed(0)} req/s, ` +
                `${r.errors.total} errors${pt.hit_ratio === null ? '' : `, hit ratio ${(pt.hit_ratio * 100).toFixed(1)} %`}\n`,
            );
          },
        });
      },
      join(dir, 'logs', `sweep-cache-${cache}-p${p}${options.repeats > 1 ? `-run${repeat + 1}` : ''}`),
    );
  };

  const allRuns: RunRow[] = [];
  record.runs = allRuns;
  let failureSamples: Parameters<typeof samplesCsv>[0] = [];
  const t0 = Date.now();
  try {
    for (const cache of ['on', 'off'] as const) {
      const phaseStart = Date.now();
      const runs: SweepResult[] = [];
      let sweep: SweepResult | undefined;
      try {
        // Repeat by repeat, each a pass over every p: a slow spell of the machine then widens
        // several p's spread a little instead of shifting one p's every run.
        passes: for (let repeat = 0; repeat < options.repeats; repeat++) {
          for (const [i, p] of options.ps.entries()) {
            checkpoint(signal);
            const run = await sweepPointOnFreshCluster(cache, p, i, repeat);
            runs.push(run);
            allRuns.push(...run.table.map((row) => ({ ...row, repeat })));
            if (run.interrupted) break passes;
          }
        }
      } finally {
        // The runs made so far are kept, also when a later one fails or is interrupted.
        if (runs.length > 0) {
          const expected = Array.from({ length: options.repeats }, () => options.ps).flat();
          sweep = mergeSweeps(runs, expected, seed);
          record.sweeps[cache === 'on' ? 'cache_on' : 'cache_off'] = sweep;
          record.table = aggregateRuns(allRuns);
        }
      }
      if (!sweep) continue; // only with no p at all, which the command line refuses
      if (sweep.warnings.length > 0) log(sweep.warnings.map((w) => `warning: ${w}\n`).join(''));
      log(`[cache ${cache}] done in ${seconds(phaseStart)} s\n`);
      if (sweep.interrupted) throw new Interrupted();
    }

    const failure = record.config.failure;
    if (failure) {
      checkpoint(signal);
      const phaseStart = Date.now();
      log(`\n[failure run] starting a fresh cluster…\n`);
      log(`[failure run] ${failure.sessions} sessions, p=${failure.p}, ${failure.duration_s} s; faults at ${DEFAULT_SCHEDULE.map((x) => (x * failure.duration_s).toFixed(1)).join(', ')} s\n`);
      const { result, samples } = await withCluster(
        EVAL_CLUSTER,
        children,
        async (c) => {
          if (options.warmupS > 0) {
            log(`[failure run] warm-up: ${options.warmupS} s at p=0.5, not recorded… `);
            const warm = await runLoad({ url: c.frontend, sessions: failure.sessions, p: 0.5, durationS: options.warmupS, seed: deriveSeed(seed, 2001), signal });
            log(`${warm.load_total.count} requests, ${warm.errors.total} errors\n`);
            checkpoint(signal);
          }
          return failureRun(c, {
            sessions: failure.sessions,
            p: failure.p,
            durationS: failure.duration_s,
            seed: failure.seed,
            signal,
            log: (line) => log(`${line}\n`),
          });
        },
        join(dir, 'logs', 'failure-run'),
      );
      record.failure_run = result;
      failureSamples = samples;
      log(
        `[failure run] ${result.load.requests.lookup.count} lookups, ${result.load.requests.trade.count} trades, ${result.errors} errors, ` +
          `logs identical: ${result.logs_identical}, catalog matches log: ${result.catalog_matches_log} — ${result.passed ? 'PASS' : 'FAIL'} (${seconds(phaseStart)} s)\n`,
      );
    }
  } catch (err: unknown) {
    if (err instanceof Interrupted || signal.aborted) record.interrupted = true;
    else {
      record.error = err instanceof Error ? err.message : String(err);
      log(`\nerror: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
  }

  record.finished_at = new Date().toISOString();
  record.wall_s = seconds(t0);
  await writeOutputs(dir, record, failureSamples, log);

  if (record.table.length > 0) print(`\n${formatSweepTable(record.table)}\n`);
  log(`\nwritten to ${dir}: ${record.files.join(', ')}\n`);
  log(`total ${record.wall_s.toFixed(0)} s\n`);
  if (record.interrupted) return 130;
  const sweepsPassed = [record.sweeps.cache_on, record.sweeps.cache_off].every((s: SweepResult | null) => s?.passed === true);
  const failurePassed = record.config.failure === null || (record.failure_run as FailureRunResult | null)?.passed === true;
  return record.error === null && sweepsPassed && failurePassed ? 0 : 1;
}

async function writeOutputs(
  dir: string,
  record: EvalRecord,
  samples: Parameters<typeof samplesCsv>[0],
  log: (text: string) => void,
): Promise<void> {
  const files: string[] = [];
  const write = async (name: string, text: string): Promise<void> => {
    await writeFile(join(dir, name), text, 'utf8');
    files.push(name);
  };
  const repeats = record.config.repeats ?? 1;
  const subtitle = [
    `${record.config.sessions} sessions, ${record.config.iterations !== null ? `${record.config.iterations} iterations/session` : `${record.config.duration_s} s`} per run; ` +
      (repeats > 1 ? `${repeats} runs per point, each on a fresh cluster: point = median, bar = lowest to highest run` : 'one run per point'),
    `${record.machine.cores} cores (${record.machine.cpu_model}), other processes' CPU use before the run ${((record.background_cpu ?? 0) * 100).toFixed(0)} %; ${record.started_at.slice(0, 19)}`,
  ];
  const plots: [string, () => Promise<string>][] = [];
  if (record.table.length > 0) {
    plots.push(['latency-vs-p.svg', () => renderSvg(latencySpec(record.table, subtitle))]);
    if (record.table.some((r) => r.cache === 'on' && r.hit_ratio !== null)) {
      plots.push(['hit-ratio.svg', () => renderSvg(hitRatioSpec(record.table, subtitle))]);
    }
  }
  const run = record.failure_run;
  if (run) {
    const { kept, threshold_ms } = thinSamples(samples);
    const thinned = kept.length < samples.length;
    const sub = [
      `${run.config.sessions} sessions, p = ${run.config.p}; ${samples.length} requests, ${run.errors} errors; grey dashed: faults (labelled at the top), green dotted: a replica ready again (labelled at the bottom)`,
      thinned
        ? `${kept.length} of ${samples.length} requests drawn: all slower than the 99th percentile (${Object.entries(threshold_ms).map(([t, v]) => `${t} ${v.toFixed(2)} ms`).join(', ')}) and an even sample of the rest`
        : 'every request of the load phase drawn',
    ];
    plots.push(['failure-run.svg', () => renderSvg(failureSpec(kept, run.faults, run.config.duration_s, sub))]);
    await write('failure-run-samples.csv', samplesCsv(samples));
  }
  for (const [name, render] of plots) {
    try {
      await write(name, await render());
    } catch (err: unknown) {
      log(`warning: could not render ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  // results.json and summary.md list every file, themselves included.
  files.push('results.json', 'summary.md', 'logs/ (each cluster process\'s log, LOG_LEVEL=warn)');
  record.files = [...files];
  await writeFile(join(dir, 'results.json'), `${JSON.stringify(record, null, 2)}\n`, 'utf8');
  await writeFile(join(dir, 'summary.md'), evalMarkdown(record), 'utf8');
}

/**
 * `eval --replot <dir>`: renders the plots and summary.md again from an evaluation's results.json
 * and failure-run-samples.csv (after a change of the plots, or to check them), without a cluster.
 */
export async function replot(dirArg: string, log: (text: string) => void): Promise<number> {
  const dir = resolve(dirArg);
  const record = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as EvalRecord;
  if (record.kind !== 'eval') throw new Error(`${join(dir, 'results.json')} is not an evaluation's results`);
  let samples: Parameters<typeof samplesCsv>[0] = [];
  if (record.failure_run) samples = parseSamplesCsv(await readFile(join(dir, 'failure-run-samples.csv'), 'utf8'));
  await writeOutputs(dir, record, samples, log);
  log(`written to ${dir}: ${record.files.join(', ')}\n`);
  return 0;
}
