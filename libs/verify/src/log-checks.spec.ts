import { violationLines } from './check';
import { ACKED_LOG_CHECKS, catalogMatchesLog, checkLog, type AckedTrade } from './log-checks';
import type { LogRow } from './rows';

/** The checks as the e2e suites use them: one final log and the orders the clients were told about. */

const row = (order_no: number, request_id: string, stock_name = 'Stock1', trade_type = 'buy', quantity = 1): LogRow => ({ order_no, epoch: 1, request_id, stock_name, trade_type, quantity });
const ack = (r: LogRow): AckedTrade => ({ key: r.request_id, stock_name: r.stock_name, trade_type: r.trade_type, quantity: r.quantity, orderNos: [r.order_no] });
const LOG = [row(1, 'a'), row(2, 'b', 'Stock2', 'Sell', 3), row(3, 'c', 'Stock1', 'BUY', 2)];

const problems = (log: LogRow[], acked: AckedTrade[]) => violationLines(checkLog(ACKED_LOG_CHECKS, { acked, logs: { log }, catalog: [] }));

describe('acknowledged orders against a final log', () => {
  it('finds nothing wrong when every acknowledged order is in the log once, under its number', () => {
    expect(problems(LOG, LOG.map(ack))).toEqual([]);
    expect(problems(LOG, [ack(LOG[1])])).toEqual([]);
  });

  it('reports a lost order, other data, another number, a number given twice, a hole and a key logged twice', () => {
    expect(problems(LOG.slice(0, 2), LOG.map(ack))).toEqual(['no acknowledged order lost: acknowledged c (order 3: BUY 2 Stock1) is not in the log']);
    expect(problems(LOG, [{ ...ack(LOG[1]), quantity: 4 }])).toEqual(['no acknowledged order lost: acknowledged b (Sell 4 Stock2) is logged as #2 b Sell 3 Stock2 (epoch 1)']);
    expect(problems(LOG, [{ ...ack(LOG[1]), orderNos: [3] }])).toEqual([
      'no order number used twice: key b was acknowledged as order 3 but is logged as 2; 3 is #3 c BUY 2 Stock1 (epoch 1)',
    ]);
    expect(problems(LOG, [ack(LOG[0]), ack(LOG[0])])).toEqual(['no order number used twice: order number 1 was acknowledged to 2 different keys: a, a']);
    expect(problems([LOG[0], LOG[2]], [])).toEqual(['order numbers 1..N without gaps: log: order number 2 is missing (N = 3)']);
    expect(problems([...LOG, row(3, 'd')], [])).toEqual(['no order number used twice: log holds order number 3 twice']);
    expect(problems([...LOG, row(4, 'a')], [])).toEqual(['no idempotency key used twice: log: key a is logged 2 times, as orders 1, 4']);
  });

  it('says how many violations were left out', () => {
    const lines = problems([row(100, 'a')], []);
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('order numbers 1..N without gaps: … and 79 more');
  });
});

describe('the catalog against a final log', () => {
  const stock = (name: string, quantity: number, trade_volume: number) => ({ name, quantity, trade_volume });

  it('counts the shares bought at the catalog directly as buys', () => {
    const catalog = [stock('Stock1', 97 - 5, 3 + 5), stock('Stock2', 103, 3), stock('Stock3', 100, 0)];
    const lines = (c: typeof catalog, direct?: Record<string, number>) => violationLines(checkLog([catalogMatchesLog], { acked: [], logs: { log: LOG }, catalog: c, direct }));
    expect(lines(catalog, { Stock1: 5 })).toEqual([]);
    expect(lines(catalog)).toEqual(['catalog matches the log: Stock1: catalog quantity 92, trade_volume 8; the log implies 97, 3']);
  });
});
