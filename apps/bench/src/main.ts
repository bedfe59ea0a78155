import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { BENCH_DEFAULTS, runBench } from './bench/bench';
import { COMPARE_DEFAULTS, runCompare } from './compare/compare';
import { SCENARIO_NAMES } from './bench/scenarios';
import { installLifecycle } from './common/lifecycle';
import { EVAL_DEFAULTS, replot, runEval } from './eval/eval';
import { FAILOVER_DEFAULTS, runFailover } from './failover/failover';
import { LAB_DEFAULTS, labOptions, runLab, type LabArgs } from './lab/lab';
import { runLabPairs } from './lab/lab-pair';
import { parseEnvAssignment, parseNodeArgs } from './lab/variant';

/**
 * `npm run eval`, `npm run bench`, `npm run bench:failover`, `npm run bench:lab` and `npm run bench:compare`: each
 * starts its own clusters of the built apps (see libs/testkit), always stops them (also on Ctrl-C:
 * once to stop and write what was measured, twice to quit at once), and writes its results under
 * `results/`.
 */

function intIn(min: number, max: number) {
  return (raw: string): number => {
    const v = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || v < min || v > max) throw new InvalidArgumentError(`must be an integer between ${min} and ${max}`);
    return v;
  };
}

function secondsIn(min: number, max: number) {
  return (raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new InvalidArgumentError(`must be a number of seconds between ${min} and ${max}`);
    return v;
  };
}

function probability(raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw new InvalidArgumentError('must be a probability between 0 and 1');
  return v;
}

function probabilityList(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((s) => s === '')) throw new InvalidArgumentError('must be a comma-separated list such as 0,0.2,0.4');
  return parts.map(probability);
}

/** A repeatable `KEY=VALUE` option, collected into an object. */
function envAssignment(raw: string, previous: Record<string, string> = {}): Record<string, string> {
  try {
    const [key, value] = parseEnvAssignment(raw);
    return { ...previous, [key]: value };
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function nodeArgs(raw: string): string[] {
  try {
    return parseNodeArgs(raw);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Progress and warnings go to stderr, the result tables to stdout. */
const write = (text: string): void => {
  process.stderr.write(text);
};
const print = (text: string): void => {
  process.stdout.write(text);
};

/** Runs one command's work between its lifecycle's install and dispose (signals, child processes); resolves to the exit code. */
async function withLifecycle(run: (life: ReturnType<typeof installLifecycle>) => Promise<number>): Promise<number> {
  const life = installLifecycle(write);
  try {
    return await run(life);
  } finally {
    life.dispose();
  }
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('bench')
    .description('Stock Bazaar evaluation (the lab\'s sweep of p, cache on and off, and a failure run) and benchmarks, each on a fresh cluster of the built apps')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('eval')
    .description(
      'the evaluation sweep with the cache on, then off (a fresh cluster for every p), then a failure run (leader and a follower killed ' +
        'and restarted under load); writes results.json, summary.md and SVG plots to <out>/eval-<timestamp>/',
    )
    .option('--sessions <n>', `concurrent sessions (default ${EVAL_DEFAULTS.sessions})`, intIn(1, 1000))
    .option('--p <list>', `probabilities of trading (default ${EVAL_DEFAULTS.ps.join(',')})`, probabilityList)
    .option('--duration <seconds>', `length of each p's run (default ${EVAL_DEFAULTS.durationS})`, secondsIn(0.1, 3600))
    .option('--iterations <n>', 'iterations per session of each p instead of a duration', intIn(1, 10_000_000))
    .option('--repeats <n>', `runs of each p and cache state, each on a fresh cluster; plots show the median and the lowest to highest run (default ${EVAL_DEFAULTS.repeats})`, intIn(1, 100))
    .option('--seed <n>', 'seed of the load (default random, reported)', intIn(0, 2 ** 32 - 1))
    .option('--warmup <seconds>', `unrecorded load at p=0.5 on each fresh cluster before its sweep, 0 for none (default ${EVAL_DEFAULTS.warmupS})`, secondsIn(0, 600))
    .option('--failure-p <p>', `p of the failure run (default ${EVAL_DEFAULTS.failureP})`, probability)
    .option('--failure-duration <seconds>', `length of the failure run, 0 to skip it (default ${EVAL_DEFAULTS.failureDurationS})`, secondsIn(0, 3600))
    .option('--out <dir>', `parent directory of the results (default ${EVAL_DEFAULTS.outDir})`)
    .option('--replot <dir>', 'no run: render the plots and summary.md of an earlier evaluation again from its results.json')
    .action(async (opts: { sessions?: number; p?: number[]; duration?: number; iterations?: number; repeats?: number; seed?: number; warmup?: number; failureP?: number; failureDuration?: number; out?: string; replot?: string }) => {
      if (opts.replot !== undefined) {
        exitCode = await replot(opts.replot, write);
        return;
      }
      if (opts.duration !== undefined && opts.iterations !== undefined) throw new InvalidArgumentError('--duration and --iterations cannot be used together');
      const failureDurationS = opts.failureDuration ?? EVAL_DEFAULTS.failureDurationS;
      if (failureDurationS > 0 && failureDurationS < 5) throw new InvalidArgumentError('--failure-duration must be 0 (skip) or at least 5 seconds');
      exitCode = await withLifecycle((life) =>
        runEval(
          {
            sessions: opts.sessions ?? EVAL_DEFAULTS.sessions,
            ps: opts.p ?? [...EVAL_DEFAULTS.ps],
            iterations: opts.iterations,
            durationS: opts.iterations === undefined ? (opts.duration ?? EVAL_DEFAULTS.durationS) : undefined,
            repeats: opts.repeats ?? EVAL_DEFAULTS.repeats,
            seed: opts.seed,
            warmupS: opts.warmup ?? EVAL_DEFAULTS.warmupS,
            failureP: opts.failureP ?? EVAL_DEFAULTS.failureP,
            failureDurationS,
            outDir: opts.out ?? EVAL_DEFAULTS.outDir,
          },
          life,
          write,
          print,
        ),
      );
    });

  program
    .command('bench')
    .description(
      'autocannon at fixed concurrency against a bare NestJS ceiling app and the bazaar (cached and uncached lookup, order lookup, trade) ' +
        'on a fresh cluster with the default settings; prints a table and writes <out>/bench-<timestamp>.json',
    )
    .option('--connections <n>', `concurrent connections (default ${BENCH_DEFAULTS.connections}; the -c5 scenarios always use 5)`, intIn(1, 1000))
    .option('--duration <seconds>', `length of each measured run (default ${BENCH_DEFAULTS.durationS})`, intIn(1, 3600))
    .option('--warmup <seconds>', `warm-up before each scenario, not measured, 0 for none (default ${BENCH_DEFAULTS.warmupS})`, intIn(0, 600))
    .option('--runs <n>', `measured runs per scenario; the table shows medians and the req/s range (default ${BENCH_DEFAULTS.runs})`, intIn(1, 100))
    .option('--only <scenarios>', `comma-separated subset of ${SCENARIO_NAMES.join(', ')} (their ceilings are added)`, list)
    .option('--compare <file>', 'an earlier bench-*.json: print the change of req/s and p99 per scenario')
    .option('--out <dir>', `directory of the JSON (default ${BENCH_DEFAULTS.outDir})`)
    .action(async (opts: { connections?: number; duration?: number; warmup?: number; runs?: number; only?: string[]; compare?: string; out?: string }) => {
      const unknown = (opts.only ?? []).filter((n) => !SCENARIO_NAMES.includes(n as (typeof SCENARIO_NAMES)[number]));
      if (unknown.length > 0) throw new InvalidArgumentError(`--only: unknown scenario ${unknown.join(', ')} (choose from ${SCENARIO_NAMES.join(', ')})`);
      exitCode = await withLifecycle((life) =>
        runBench(
          {
            connections: opts.connections ?? BENCH_DEFAULTS.connections,
            durationS: opts.duration ?? BENCH_DEFAULTS.durationS,
            warmupS: opts.warmup ?? BENCH_DEFAULTS.warmupS,
            runs: opts.runs ?? BENCH_DEFAULTS.runs,
            only: opts.only,
            compare: opts.compare,
            outDir: opts.out ?? BENCH_DEFAULTS.outDir,
          },
          life,
          write,
          print,
        ),
      );
    });

  program
    .command('failover')
    .description(
      'on a fresh cluster with the default settings: leader SIGKILL → first trade acknowledged, over several kills; then a replica ' +
        'restarted after missing many orders → ready, and that replica restarted again at once, holding the whole log → ready; then the whole cluster ' +
        'SIGKILLed and started at once → every replica ready; prints the figures and writes <out>/failover-<timestamp>.json',
    )
    .option('--kills <n>', `leader kills to time, 0 to skip (default ${FAILOVER_DEFAULTS.kills})`, intIn(0, 100))
    .option('--catch-up-orders <n>', `orders a stopped replica misses before its restart is timed, 0 to skip (default ${FAILOVER_DEFAULTS.catchUpOrders})`, intIn(0, 10_000_000))
    .option('--cluster-restarts <n>', `whole-cluster restarts to time after the catch-up, 0 to skip (default ${FAILOVER_DEFAULTS.clusterRestarts})`, intIn(0, 100))
    .option('--build <dir>', 'run the apps of another built checkout of this repository (its dist), e.g. to time an earlier commit with this bench')
    .option('--out <dir>', `directory of the JSON (default ${FAILOVER_DEFAULTS.outDir})`)
    .action(async (opts: { kills?: number; catchUpOrders?: number; clusterRestarts?: number; build?: string; out?: string }) => {
      exitCode = await withLifecycle((life) =>
        runFailover(
          {
            kills: opts.kills ?? FAILOVER_DEFAULTS.kills,
            catchUpOrders: opts.catchUpOrders ?? FAILOVER_DEFAULTS.catchUpOrders,
            clusterRestarts: opts.clusterRestarts ?? FAILOVER_DEFAULTS.clusterRestarts,
            build: opts.build,
            outDir: opts.out ?? FAILOVER_DEFAULTS.outDir,
          },
          life,
          write,
          print,
        ),
      );
    });

  program
    .command('lab')
    .description(
      "the lab's load (npm run client -- load, 5 sessions, p = 0.8) on a fresh cluster with the default settings, twice per round: " +
        'right after the start (cold), then on the same processes with every stock sold back to its initial quantity (warm); ' +
        'prints a row per load and writes <out>/lab-<timestamp>.json. With a variant (--variant-env, --variant-node-args) or a ' +
        '--baseline build: two fresh clusters per round, loaded at once, and variant ÷ baseline per round (<out>/lab-pair-<timestamp>.json)',
    )
    .option('--rounds <n>', `rounds, each on a fresh cluster (default ${LAB_DEFAULTS.rounds})`, intIn(1, 100))
    .option('--duration <seconds>', `length of each load (default ${LAB_DEFAULTS.durationS})`, secondsIn(1, 3600))
    .option('--sessions <n>', `concurrent sessions (default ${LAB_DEFAULTS.sessions})`, intIn(1, 1000))
    .option('--p <p>', `probability of trading after a lookup that shows shares (default ${LAB_DEFAULTS.p})`, probability)
    .option('--seed <n>', `seed of every load (default ${LAB_DEFAULTS.seed})`, intIn(0, 2 ** 32 - 1))
    .option('--out <dir>', `directory of the JSON (default ${LAB_DEFAULTS.outDir})`)
    .option(
      '--variant-env <KEY=VALUE>',
      'compare a variant: run it on a second cluster with this environment on top, both loaded at once, and print variant ÷ baseline per round (repeatable)',
      envAssignment,
    )
    .option('--variant-node-args <options>', 'compare a variant whose processes run node with these options, e.g. --variant-node-args="--max-semi-space-size=16"', nodeArgs)
    .option('--baseline <dir>', 'compare with another build: a built checkout of this repository whose apps run as the baseline (default: this build as is)')
    .action(async (opts: LabArgs & { variantEnv?: Record<string, string>; variantNodeArgs?: string[]; baseline?: string }) => {
      const paired = opts.variantEnv !== undefined || opts.variantNodeArgs !== undefined || opts.baseline !== undefined;
      exitCode = await withLifecycle((life) =>
        paired
          ? runLabPairs(labOptions(opts), { env: opts.variantEnv ?? {}, nodeArgs: opts.variantNodeArgs ?? [], baseline: opts.baseline }, life, write, print)
          : runLab(labOptions(opts), life, write, print),
      );
    });

  program
    .command('compare')
    .description(
      'trades on two builds side by side, each on a fresh cluster with the default settings: one trade at a time alternating ' +
        'between them (ABBA), then both loaded at once; prints this build / the baseline per round and writes <out>/compare-<timestamp>.json',
    )
    .requiredOption('--baseline <dir>', 'a built checkout of this repository to compare with (e.g. a git worktree of an earlier commit after npm ci and npm run build)')
    .option('--rounds <n>', `rounds, each measuring both parts (default ${COMPARE_DEFAULTS.rounds})`, intIn(1, 100))
    .option('--duration <seconds>', `length of each measured part (default ${COMPARE_DEFAULTS.durationS})`, intIn(1, 3600))
    .option('--warmup <seconds>', `unmeasured load before each part, 0 for none (default ${COMPARE_DEFAULTS.warmupS})`, intIn(0, 600))
    .option('--connections <n>', `connections to each front end when both are loaded (default ${COMPARE_DEFAULTS.connections})`, intIn(2, 1000))
    .option('--out <dir>', `directory of the JSON (default ${COMPARE_DEFAULTS.outDir})`)
    .action(async (opts: { baseline: string; rounds?: number; duration?: number; warmup?: number; connections?: number; out?: string }) => {
      exitCode = await withLifecycle((life) =>
        runCompare(
          {
            baseline: opts.baseline,
            rounds: opts.rounds ?? COMPARE_DEFAULTS.rounds,
            durationS: opts.duration ?? COMPARE_DEFAULTS.durationS,
            warmupS: opts.warmup ?? COMPARE_DEFAULTS.warmupS,
            connections: opts.connections ?? COMPARE_DEFAULTS.connections,
            outDir: opts.out ?? COMPARE_DEFAULTS.outDir,
          },
          life,
          write,
          print,
        ),
      );
    });

  for (const command of program.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)');

  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return 2;
    }
    await program.parseAsync(argv);
    return exitCode;
  } catch (err: unknown) {
    // Thrown by an action (a combination of options); commander has not printed it.
    if (err instanceof InvalidArgumentError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    // Commander has already printed its message (or the help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

// Exit as soon as the work is done: the cluster is stopped by then, and the testkit can leave a
// timer behind (Cluster.signal races a process's exit with a 15 s sleep) that would hold the
// process for up to 15 s more. stdout and stderr are synchronous for files and pipes.
void main(process.argv).then((code) => process.exit(code));
