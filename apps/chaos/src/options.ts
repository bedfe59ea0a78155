import { Command, InvalidArgumentError, Option } from 'commander';
import type { NemesisMode } from '@app/verify';
import { FAULT_KINDS, faultKindsFor, FaultKind } from './faults';

export interface CliOptions {
  duration: number;
  seed: number;
  seedGiven: boolean;
  sessions: number;
  /** Front ends the sessions spread their requests over (default 1). */
  frontends: number;
  /** The cache lease (CACHE_LEASE_MS) of the catalog and the front ends, when not the apps' default. */
  leaseMs?: number;
  nemesis: NemesisMode;
  out: string;
  keepData: boolean;
  tradeProbability: number;
  faults: FaultKind[];
  /** Re-check a saved run instead of running one. */
  check?: string;
}

const integer = (min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return n;
};

const probability = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
};

/** `all` is every kind the run's layout can run (resolved with --frontends); otherwise a comma-separated list of kinds. */
const faultList = (value: string): FaultKind[] | 'all' => {
  if (value.trim() === 'all') return 'all';
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  const bad = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (kinds.length === 0 || bad.length) throw new InvalidArgumentError(`unknown fault kind ${bad.join(', ') || '(none)'}; expected some of ${FAULT_KINDS.join(', ')}, or all`);
  return kinds as FaultKind[];
};

export const timestamp = (d = new Date()) => d.toISOString().replace(/\..*$/, '').replace(/:/g, '-');

export function buildProgram(): Command {
  return new Command('chaos')
    .description(
      'Fault-injection run with a history checker: a fresh cluster, concurrent client sessions, a nemesis ' +
        '(SIGKILL, SIGSTOP/SIGCONT, restarts, crash fault points; network partitions with --faults partition or all, as root, ' +
        'with any number of front ends and together with the front ends\' faults), ' +
        'then heal, converge and check every guarantee.',
    )
    .option('--duration <s>', 'seconds of load and faults', integer(1, 86_400), 60)
    .option('--seed <n>', 'seed of the fault schedule and the workload (default: random, printed)', integer(0, 2 ** 32 - 1))
    .option('--sessions <n>', 'concurrent client sessions', integer(1, 64), 5)
    .option('--frontends <n>', 'front ends; each request goes to one of them at random (2 or more adds the pause-frontend, kill-frontend and lose-pushes faults to the default, and with lose-pushes a crossing reader: a session that reads each stock through another front end, then through the one losing its pushes; with partition each front end runs on a network namespace host of its own, and the partitions also cut the leader from one front end only, or two front ends from different replicas)', integer(1, 4), 1)
    .option('--lease-ms <ms>', 'the cache lease of the catalog and the front ends (CACHE_LEASE_MS; default the apps\' 1000): a longer one widens the windows the front-end faults open', integer(1000, 60_000))
    .addOption(new Option('--nemesis <mode>', 'default: at most one replica down at a time; aggressive: also two').choices(['default', 'aggressive']).default('default'))
    .option('--out <dir>', 'where the history, report and logs go (default: results/chaos-<timestamp>/)')
    .option('--keep-data', 'keep the cluster\'s data directory (SQLite files, process logs)', false)
    .option('--trade-probability <p>', 'probability that a lookup is followed by a trade', probability, 0.6)
    .addOption(
      new Option(
        '--faults <kinds>',
        `comma-separated fault kinds to pick from: ${FAULT_KINDS.join(', ')}; all = every kind the layout can run ` +
          '(one front end: the replicas\' faults and partition; two or more: every kind). ' +
          'partition puts each process (each front end too) in its own network namespace, needs root, ip and nft, and combines with every other kind; ' +
          'pause-frontend and kill-frontend need --frontends 2 or more',
      )
        .argParser(faultList)
        .default(undefined, 'every process fault: of the replicas, and of the front ends with --frontends 2 or more'),
    )
    .option('--check <dir>', 'only re-check a saved run (its history.jsonl and final-state.json)')
    .showHelpAfterError('(run with --help for usage)')
    .allowExcessArguments(false);
}

export function parseOptions(argv: string[], program = buildProgram()): CliOptions {
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ duration: number; seed?: number; sessions: number; frontends: number; leaseMs?: number; nemesis: NemesisMode; out?: string; keepData: boolean; tradeProbability: number; faults?: FaultKind[] | 'all'; check?: string }>();
  const seed = o.seed ?? Math.floor(Math.random() * 1_000_000);
  let faults: FaultKind[] = [];
  try {
    faults = faultKindsFor(o.faults, o.frontends, o.leaseMs);
  } catch (e) {
    program.error(`error: ${(e as Error).message}`); // throws (exits without exitOverride)
  }
  return {
    duration: o.duration,
    seed,
    seedGiven: o.seed !== undefined,
    sessions: o.sessions,
    frontends: o.frontends,
    ...(o.leaseMs !== undefined ? { leaseMs: o.leaseMs } : {}),
    nemesis: o.nemesis,
    out: o.out ?? `results/chaos-${timestamp()}`,
    keepData: o.keepData,
    tradeProbability: o.tradeProbability,
    faults,
    check: o.check,
  };
}
