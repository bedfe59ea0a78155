import type { Command } from 'commander';
import { parseSweepArgs, type RawSweepArgs } from '../cli/arguments';
import { ExitCode, formatSweepReport, LOAD_DEFAULTS, runSweep, SWEEP_DEFAULT_PS, type SweepResult } from '@app/loadgen';
import { prepareJsonOption, writeRequestedJson } from '../report/json-writer';
import { createProgressView, type ProgressView } from '../report/progress';
import { abortOnInterrupt, type CommandContext } from './command-context';
import { runExitCode } from './load.command';

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
        await prepareJsonOption(args.json);

        let progress: ProgressView | undefined;
        const interrupt = abortOnInterrupt(io, 'stopping: finishing the current run (its orders are still checked), skipping the rest (Ctrl-C again to quit at once)', () => progress?.stop());
        let result: SweepResult;
        try {
          const total = args.options.ps?.length ?? SWEEP_DEFAULT_PS.length;
          result = await runSweep({
            ...args.options,
            fetchImpl: io.fetchImpl,
            signal: interrupt.signal,
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
          interrupt.release();
        }

        io.stdout(formatSweepReport(result));
        if (!(await writeRequestedJson(args.json, result, (t) => io.stderr(t)))) return ExitCode.failed;
        return runExitCode(result);
      }),
    );
}
