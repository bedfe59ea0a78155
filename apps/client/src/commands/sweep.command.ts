import type { Command } from 'commander';
import { parseSweepArgs, type RawSweepArgs } from '../cli/arguments';
import { ExitCode, formatSweepReport, LOAD_DEFAULTS, runSweep, SWEEP_DEFAULT_PS, type SweepResult, UsageError } from '@app/loadgen';
import { prepareJsonPath, writeRequestedJson } from '../report/json-writer';
import { createProgressView, type ProgressView } from '../report/progress';
import type { CommandContext } from './command-context';
import { EXIT_INTERRUPTED } from './load.command';

/** 0 when every run passed; 130 when interrupted; else 1. */
function sweepExitCode(result: SweepResult): number {
  if (result.interrupted) return EXIT_INTERRUPTED;
  return result.passed ? ExitCode.ok : ExitCode.failed;
}

export function registerSweepCommand(program: Command, ctx: CommandContext): void {
  program
    .command('sweep')
    .description(
      'the evaluation sweep: one load run per probability p against a running bazaar, recording the ' +
        "front end's cache counters (GET /cache/stats) before and after each for a hit ratio per p",
    )
    .option('--sessions <n>', `concurrent sessions of every run (default ${LOAD_DEFAULTS.sessions})`)
    .option('--p <list>', `comma-separated probabilities of trading (default ${SWEEP_DEFAULT_PS.join(',')})`)
    .option('--iterations <n>', `iterations per session of each run (default ${LOAD_DEFAULTS.iterations}); not with --duration`)
    .option('--duration <seconds>', 'run each p for this many seconds instead of a number of iterations')
    .option('--seed <n>', 'seed of the sweep (0–4294967295); run i uses a seed derived from it')
    .option('--json <file>', 'also write the results (a table and every run) as JSON to this file')
    .option('--quiet', 'no progress output (the report is still printed)')
    .action((opts: RawSweepArgs, command: Command) =>
      ctx.run(async () => {
        const { io } = ctx;
        const args = parseSweepArgs({ ...command.optsWithGlobals<RawSweepArgs>(), ...opts }, io.env);
        if (args.json !== undefined) {
          const path = args.json;
          await prepareJsonPath(path).catch((err: unknown) => {
            throw new UsageError(`--json: cannot write to ${path}: ${err instanceof Error ? err.message : String(err)}`);
          });
        }

        const controller = new AbortController();
        let progress: ProgressView | undefined;
        const removeInterrupt = io.onInterrupt?.(() => {
          progress?.stop();
          io.stderr('stopping: finishing the current run (its orders are still checked), skipping the rest (Ctrl-C again to quit at once)\n');
          controller.abort();
        });
        let result: SweepResult;
        try {
          const total = args.options.ps?.length ?? SWEEP_DEFAULT_PS.length;
          result = await runSweep({
            ...args.options,
            fetchImpl: io.fetchImpl,
            signal: controller.signal,
            onRunStart: (i, p, seed) => {
              progress?.stop();
              if (!args.quiet) {
                io.stderr(`run ${i + 1}/${total}: p=${p}, seed ${seed}\n`);
                progress = createProgressView({ write: (t) => io.stderr(t), ttyStream: io.progressTty });
              }
            },
            onProgress: (p) => progress?.update(p),
            onPoint: () => progress?.stop(),
          });
        } finally {
          progress?.stop();
          removeInterrupt?.();
        }

        io.stdout(formatSweepReport(result));
        if (!(await writeRequestedJson(args.json, result, (t) => io.stderr(t)))) return ExitCode.failed;
        return sweepExitCode(result);
      }),
    );
}
