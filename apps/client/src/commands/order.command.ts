import type { Command } from 'commander';
import { parseOrderNo, parseRepeat } from '../cli/arguments';
import { clientFor, type CommandContext } from './command-context';
import { runRepeated } from './single-request';

export function registerOrderCommand(program: Command, ctx: CommandContext): void {
  program
    .command('order')
    .description('look up an order (GET /orders) and print the response')
    .argument('<order_no>', 'order number, a positive integer')
    .option('--repeat <n>', 'send the lookup n times and print latency statistics', '1')
    .option('--quiet', 'with --repeat, print only the summary')
    .action((orderNo: string, opts: { repeat?: string; quiet?: boolean }, command: Command) =>
      ctx.run(() => {
        const no = parseOrderNo(orderNo);
        const repeat = parseRepeat(opts.repeat);
        const client = clientFor(command, ctx.io);
        return runRepeated(ctx.io, () => client.order(no), { repeat, quiet: opts.quiet === true });
      }),
    );
}
