import type { Command } from 'commander';
import { parseRepeat, parseStockName } from '../cli/arguments';
import { clientFor, type CommandContext } from './command-context';
import { runRepeated } from './single-request';

export function registerLookupCommand(program: Command, ctx: CommandContext): void {
  program
    .command('lookup')
    .description('look up a stock (GET /stocks) and print the response')
    .argument('<stock>', 'stock name, e.g. Stock1')
    .option('--repeat <n>', 'send the lookup n times and print latency statistics', '1')
    .option('--quiet', 'with --repeat, print only the summary')
    .action((stock: string, opts: { repeat?: string; quiet?: boolean }, command: Command) =>
      ctx.run(() => {
        const name = parseStockName(stock);
        const repeat = parseRepeat(opts.repeat);
        const client = clientFor(command, ctx.io);
        return runRepeated(ctx.io, () => client.lookup(name), { repeat, quiet: opts.quiet === true });
      }),
    );
}
