import type { Command } from 'commander';
import { parseOrderNo } from '../cli/arguments';
import type { CommandContext } from './command-context';
import { registerSingleRequestCommand } from './single-request';

export function registerOrderCommand(program: Command, ctx: CommandContext): void {
  const argument: [string, string] = ['<order_no>', 'order number, a positive integer'];
  const description = 'look up an order (GET /orders) and print the response';
  registerSingleRequestCommand(program, ctx, { name: 'order', description, argument, parse: parseOrderNo, send: (client, no) => client.order(no) });
}
