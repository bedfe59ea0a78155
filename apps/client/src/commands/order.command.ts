import type { Command } from 'commander';
import { parseOrderNo } from '../cli/arguments';
import type { CommandContext } from './command-context';
import { registerSingleRequestCommand } from './single-request';

export function registerOrderCommand(program: Command, ctx: CommandContext): void {
  registerSingleRequestCommand(program, ctx, {
    name: 'order',
    description: 'look up an order (GET /orders) and print the response',
    argument: ['<order_no>', 'order number, a positive integer'],
    parse: parseOrderNo,
    send: (client, no) => client.order(no),
  });
}
