import { Command, InvalidArgumentError, Option } from 'commander';
import type { NemesisMode } from '@app/verify';
import { DEFAULT_FAULT_KINDS, FAULT_KINDS, FaultKind } from './faults';

export interface CliOptions {
  duration: number;
  seed: number;
  seedGiven: boolean;
  sessions: number;
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

/** `all` is every kind, partitions included; otherwise a comma-separated list of kinds. */
const faultList = (value: string): FaultKind[] => {
  if (value.trim() === 'all') return [...FAULT_KINDS];
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
        '(SIGKILL, SIGSTOP/SIGCONT, restarts, crash fault points; network partitions with --faults partition or all, as root), ' +
        'then heal, converge and check every guarantee.',
    )
    .option('--duration <s>', 'seconds of load and faults', integer(1, 86_400), 60)
    .option('--seed <n>', 'seed of the fault schedule and the workload (default: random, printed)', integer(0, 2 ** 32 - 1))
    .option('--sessions <n>', 'concurrent client sessions', integer(1, 64), 5)
    .addOption(new Option('--nemesis <mode>', 'default: at most one replica down at a time; aggressive: also two').choices(['default', 'aggressive']).default('default'))
    .option('--out <dir>', 'where the history, report and logs go (default: results/chaos-<timestamp>/)')
    .option('--keep-data', 'keep the cluster\'s data directory (SQLite files, process logs)', false)
    .option('--trade-probability <p>', 'probability that a lookup is followed by a trade', probability, 0.6)
    .addOption(
      new Option(
        '--faults <kinds>',
        `comma-separated fault kinds to pick from: ${FAULT_KINDS.join(', ')}; all = every kind. ` +
          'partition puts each process in its own network namespace and needs root, ip and nft',
      )
        .argParser(faultList)
        .default([...DEFAULT_FAULT_KINDS], DEFAULT_FAULT_KINDS.join(',')),
    )
    .option('--check <dir>', 'only re-check a saved run (its history.jsonl and final-state.json)')
    .showHelpAfterError('(run with --help for usage)')
    .allowExcessArguments(false);
}

export function parseOptions(argv: string[], program = buildProgram()): CliOptions {
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ duration: number; seed?: number; sessions: number; nemesis: NemesisMode; out?: string; keepData: boolean; tradeProbability: number; faults: FaultKind[]; check?: string }>();
  const seed = o.seed ?? Math.floor(Math.random() * 1_000_000);
  return {
    duration: o.duration,
    seed,
    seedGiven: o.seed !== undefined,
    sessions: o.sessions,
    nemesis: o.nemesis,
    out: o.out ?? `results/chaos-${timestamp()}`,
    keepData: o.keepData,
    tradeProbability: o.tradeProbability,
    faults: o.faults,
    check: o.check,
  };
}
