import type { Command } from 'commander';
import { parseLoadArgs, type RawLoadArgs } from '../cli/arguments';
import { ExitCode, LOAD_DEFAULTS, type LoadResult, runLoad } from '@app/loadgen';
import { prepareJsonOption, writeRequestedJson } from '../report/json-writer';
import { formatLoadReport } from '../report/load-report';
import { createProgressView } from '../report/progress';
import { abortOnInterrupt, type CommandContext } from './command-context';

/** Exit code of a run stopped with Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * The exit code of a load run or a sweep: 0 when it passed (no error, mismatch or missing order
 * in any run); 130 when interrupted; else 1.
 */
export function runExitCode(result: { interrupted: boolean; passed: boolean }): number {
  if (result.interrupted) return EXIT_INTERRUPTED;
  return result.passed ? ExitCode.ok : ExitCode.failed;
}

export function registerLoadCommand(program: Command, ctx: CommandContext): void {
  program
    .command('load')
    .description(
      'run concurrent sessions of "look up a random stock; if it has shares, trade it with probability p", ' +
        'then read every acknowledged order back and check it',
    )
    .option('--sessions <n>', `concurrent sessions (default ${LOAD_DEFAULTS.sessions})`)
    .option('--p <p>', `probability of trading after a lookup that shows shares, 0–1 (default ${LOAD_DEFAULTS.p})`)
    .option('--iterations <n>', `iterations per session (default ${LOAD_DEFAULTS.iterations}); not with --duration`)
    .option('--duration <seconds>', 'run for this many seconds instead of a number of iterations')
    .option('--seed <n>', 'seed of the PRNG (0–4294967295); a random one is chosen and reported otherwise')
    .option('--mixed-case', 'send trade_type in random letter case (Buy, SELL…) to check the spelling is kept')
    .option('--json <file>', 'also write the results as JSON to this file')
    .option('--quiet', 'no progress output (the report is still printed)')
    .action((opts: RawLoadArgs, command: Command) =>
      ctx.run(async () => {
        const { io } = ctx;
        const args = parseLoadArgs({ ...command.optsWithGlobals<RawLoadArgs>(), ...opts }, io.env);
        await prepareJsonOption(args.json);

        const progress = args.quiet ? undefined : createProgressView({ write: (t) => io.stderr(t), ttyStream: io.progressTty });
        const interrupt = abortOnInterrupt(io, 'stopping: finishing the current iterations, then checking the orders (Ctrl-C again to quit at once)', () => progress?.stop());
        let result: LoadResult;
        try {
          result = await runLoad({ ...args.options, signal: interrupt.signal, onProgress: progress && ((p) => progress.update(p)) });
        } finally {
          progress?.stop();
          interrupt.release();
        }

        io.stdout(formatLoadReport(result));
        if (!(await writeRequestedJson(args.json, result, (t) => io.stderr(t)))) return ExitCode.failed;
        return runExitCode(result);
      }),
    );
}
