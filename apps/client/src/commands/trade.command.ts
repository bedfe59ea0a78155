import type { Command } from 'commander';
import { parseIdempotencyKey, parseQuantity, parseRepeat, parseStockName, parseTradeType } from '../cli/arguments';
import { clientFor, type CommandContext } from './command-context';
import { runRepeated } from './single-request';

export function registerTradeCommand(program: Command, ctx: CommandContext): void {
  program
    .command('trade')
    .description('place an order (POST /orders) and print the response')
    .argument('<stock>', 'stock name, e.g. Stock1')
    .argument('<type>', 'buy or sell, in any letter case (the spelling is kept in the order)')
    .argument('<quantity>', 'number of shares, a positive integer')
    .option('--repeat <n>', 'place the order n times (each a new trade unless --key is given)', '1')
    .option('--key <key>', 'Idempotency-Key header: the same key always yields the same outcome')
    .option('--quiet', 'with --repeat, print only the summary')
    .action((stock: string, type: string, quantity: string, opts: { repeat?: string; key?: string; quiet?: boolean }, command: Command) =>
      ctx.run(() => {
        const name = parseStockName(stock);
        const tradeType = parseTradeType(type);
        const qty = parseQuantity(quantity);
        const repeat = parseRepeat(opts.repeat);
        const key = parseIdempotencyKey(opts.key);
        const client = clientFor(command, ctx.io);
        return runRepeated(ctx.io, () => client.trade(name, tradeType, qty, key), { repeat, quiet: opts.quiet === true });
      }),
    );
}
