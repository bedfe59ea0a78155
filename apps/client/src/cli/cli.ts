import { Command, CommanderError } from 'commander';
import { registerLoadCommand } from '../commands/load.command';
import { registerLookupCommand } from '../commands/lookup.command';
import { registerOrderCommand } from '../commands/order.command';
import { registerStatusCommand } from '../commands/status.command';
import { registerSweepCommand } from '../commands/sweep.command';
import { registerTradeCommand } from '../commands/trade.command';
import type { CommandContext } from '../commands/command-context';
import { DEFAULT_URL, ExitCode, UsageError } from '@app/loadgen';
import { URL_ENV } from './arguments';
import type { CliIo } from './cli-io';

/** The client's command line: the commands registered on a commander program that writes to `ctx.io`. */
export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('client')
    .description('Stock Bazaar client: single operations, load runs, the evaluation sweep and the cluster status, against the front end')
    .option(
      '--url <url>',
      `front end base URL; several, comma-separated or --url given again, are tried in turn when one does not answer (default: $${URL_ENV} or ${DEFAULT_URL})`,
      joinUrls,
    )
    .option('--timeout <ms>', 'per-request timeout in milliseconds (default 10000)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) })
    .exitOverride();
  registerLookupCommand(program, ctx);
  registerTradeCommand(program, ctx);
  registerOrderCommand(program, ctx);
  registerLoadCommand(program, ctx);
  registerSweepCommand(program, ctx);
  registerStatusCommand(program, ctx);
  // Subcommands inherit the output settings and exit behaviour.
  for (const command of program.commands) {
    command.configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) }).exitOverride();
    command.showHelpAfterError('(run with --help for usage)');
  }
  return program;
}

/**
 * Runs the CLI on `argv` (as in `process.argv`: node, script, args…) and resolves to the exit
 * code: 0 success, 1 a request or check failed, 2 a bad command line (nothing sent), 130 a load
 * run stopped with Ctrl-C (`status --watch` stopped with Ctrl-C: 0). Never calls `process.exit`.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const ctx: CommandContext = {
    io,
    run: async (action) => {
      exitCode = await action();
    },
  };
  const program = buildProgram(ctx);
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return ExitCode.usage;
    }
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err: unknown) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CommanderError) {
      // Commander has already written its message (or the help / version text).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    io.stderr(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.failed;
  }
}

/**
 * `--url` given again adds to the list, as a comma does (it kept only the last one, so a load run
 * told of two front ends used one, and failed when that one was killed: found by a review).
 */
export function joinUrls(value: string, previous: string | undefined): string {
  return previous === undefined ? value : `${previous},${value}`;
}
