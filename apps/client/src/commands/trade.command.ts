import type { Command } from 'commander';
import { errorMessage, type HttpOutcome } from '@app/loadgen';
import { parseIdempotencyKey, parseQuantity, parseRepeat, parseStockName, parseTradeType, type GlobalArgs } from '../cli/arguments';
import { clientFor, type CommandContext } from './command-context';
import { runRepeated } from './single-request';

/** A 503 whose message says an earlier attempt of the front end's may have gone through (see the front end's orders service). */
const MAY_HAVE_GONE_THROUGH = /may have gone through/i;

/** A word as the shell reads it: quoted unless it is made of characters the shell leaves alone. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to say when a trade's outcome is unknown — it got no answer at all, or a 503 saying an
 * earlier attempt may have gone through — so the user can learn it: the command to send the same
 * trade with the same key, which replays its outcome and never trades twice. A manual retry
 * without the key could trade twice.
 */
export function explainTradeOutcome(outcome: HttpOutcome, latency: string, command: string[]): string | undefined {
  const key = outcome.idempotencyKey;
  if (key === undefined) return undefined;
  const retry = `run \`npm run client -- ${[...command, '--key', key].map(shellWord).join(' ')}\` to learn its outcome (the same key never trades twice)`;
  if (outcome.kind === 'transport') {
    if (!outcome.mayHaveArrived) return undefined; // refused before it left: nothing was traded
    const sendings = outcome.attempts === 1 ? '' : `, sent ${outcome.attempts} times`;
    return `error: no answer from ${outcome.url} (${outcome.error}${sendings}, after ${latency}): the trade may have gone through; it was sent with Idempotency-Key ${key}: ${retry}`;
  }
  if (outcome.attempts > 1 && outcome.status !== 503) {
    return `sent ${outcome.attempts} times with Idempotency-Key ${key} (a sending got no answer): this answer is the trade's one outcome`;
  }
  if (outcome.status === 503 && MAY_HAVE_GONE_THROUGH.test(errorMessage(outcome.body) ?? outcome.text)) {
    return `the trade may have gone through; its Idempotency-Key is ${key}: ${retry}`;
  }
  return undefined;
}

export function registerTradeCommand(program: Command, ctx: CommandContext): void {
  program
    .command('trade')
    .description('place an order (POST /orders) and print the response')
    .argument('<stock>', 'stock name, e.g. Stock1')
    .argument('<type>', 'buy or sell, in any letter case (the spelling is kept in the order)')
    .argument('<quantity>', 'number of shares, a positive integer')
    .option('--repeat <n>', 'place the order n times (each a new trade unless --key is given)', '1')
    .option('--key <key>', 'Idempotency-Key header: the same key always yields the same outcome (default: a new random key per trade)')
    .option('--quiet', 'with --repeat, print only the summary')
    .action((stock: string, type: string, quantity: string, opts: { repeat?: string; key?: string; quiet?: boolean }, command: Command) =>
      ctx.run(() => {
        const name = parseStockName(stock);
        const tradeType = parseTradeType(type);
        const qty = parseQuantity(quantity);
        const repeat = parseRepeat(opts.repeat);
        const key = parseIdempotencyKey(opts.key);
        const client = clientFor(command, ctx.io);
        const url = command.optsWithGlobals<GlobalArgs>().url;
        const again = ['trade', name, tradeType, String(qty), ...(url === undefined ? [] : ['--url', url])];
        return runRepeated(ctx.io, () => client.trade(name, tradeType, qty, key), {
          repeat,
          quiet: opts.quiet === true,
          explain: (outcome, latency) => explainTradeOutcome(outcome, latency, again),
        });
      }),
    );
}
