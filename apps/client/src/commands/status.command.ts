import type { Command } from 'commander';
import { resolveUrl, type GlobalArgs } from '../cli/arguments';
import { runStatus } from '../status/status-runner';
import { clientFor, type CommandContext } from './command-context';

export function registerStatusCommand(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description(
      "the cluster at a glance (the front end's GET /status.json): front end, catalog, each replica's state, epoch, " +
        'last order, commit point and lag, the cache hit ratio and the recent leader changes',
    )
    .option('--watch', 'clear the screen and redraw every second until Ctrl-C')
    .action((opts: { watch?: boolean }, command: Command) =>
      ctx.run(() => {
        const url = resolveUrl(command.optsWithGlobals<GlobalArgs>().url, ctx.io.env);
        return runStatus(ctx.io, clientFor(command, ctx.io), url, { watch: opts.watch === true });
      }),
    );
}
