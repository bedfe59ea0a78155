import type { Command } from 'commander';
import { parseStockName } from '../cli/arguments';
import type { CommandContext } from './command-context';
import { registerSingleRequestCommand } from './single-request';

export function registerLookupCommand(program: Command, ctx: CommandContext): void {
  const argument: [string, string] = ['<stock>', 'stock name, e.g. Stock1'];
  const description = 'look up a stock (GET /stocks) and print the response';
  registerSingleRequestCommand(program, ctx, { name: 'lookup', description, argument, parse: parseStockName, send: (client, name) => client.lookup(name) });
}
