import { jest } from '@jest/globals';
import type { OrderInfo } from '@app/contracts';
import { checkConsistency, OrderLedger, type OrderReadBack, type SentOrder } from './consistency';

const sent = (stock_name: string, trade_type: string, quantity: number): SentOrder => ({ stock_name, trade_type, quantity });
const stored = (order_no: number, o: SentOrder): OrderInfo => ({ order_no, stock_name: o.stock_name, trade_type: o.trade_type, quantity: o.quantity });

/** A read-back over a fixed store: absent numbers are "not found". */
function storeOf(orders: Record<number, OrderInfo | 'error'>): (no: number) => Promise<OrderReadBack> {
  return async (no) => {
    const o = orders[no];
    if (o === undefined) return { kind: 'missing' };
    if (o === 'error') return { kind: 'error', reason: 'HTTP 503' };
    return { kind: 'found', order: o };
  };
}

describe('checkConsistency', () => {
  it('counts every order as matched when the store holds what was sent', async () => {
    const ledger = new OrderLedger();
    const orders: Record<number, OrderInfo> = {};
    for (let no = 1; no <= 30; no++) {
      const o = sent(`Stock${(no % 10) + 1}`, no % 2 ? 'buy' : 'SELL', (no % 10) + 1);
      ledger.record(no, o);
      orders[no] = stored(no, o);
    }
    const report = await checkConsistency(ledger, storeOf(orders), { concurrency: 4 });
    expect(report).toMatchObject({ recorded: 30, checked: 30, matched: 30, mismatches: 0, missing: 0, duplicates: 0, unchecked: 0, details: [] });
  });

  it('counts mismatching, missing and unreadable orders separately, with details in order', async () => {
    const ledger = new OrderLedger();
    ledger.record(1, sent('Stock1', 'buy', 1));
    ledger.record(2, sent('Stock2', 'sell', 2));
    ledger.record(3, sent('Stock3', 'Buy', 3));
    ledger.record(4, sent('Stock4', 'buy', 4));
    ledger.record(5, sent('Stock5', 'buy', 5));
    const report = await checkConsistency(
      ledger,
      storeOf({
        1: stored(1, sent('Stock1', 'buy', 1)),
        2: stored(2, sent('Stock2', 'sell', 7)), // quantity differs
        3: stored(3, sent('Stock3', 'buy', 3)), // spelling not kept
        // 4 is missing
        5: 'error',
      }),
      { concurrency: 2 },
    );
    expect(report).toMatchObject({ recorded: 5, checked: 4, matched: 1, mismatches: 2, missing: 1, unchecked: 1 });
    expect(report.details.map((d) => [d.order_no, d.problem, d.fields ?? d.reason ?? null])).toEqual([
      [2, 'mismatch', ['quantity']],
      [3, 'mismatch', ['trade_type']],
      [4, 'missing', null],
      [5, 'unchecked', 'HTTP 503'],
    ]);
  });

  it('counts an order number acknowledged for two different trades as a duplicate mismatch', async () => {
    const ledger = new OrderLedger();
    expect(ledger.record(1, sent('Stock1', 'buy', 1))).toBe(true);
    expect(ledger.record(1, sent('Stock2', 'sell', 2))).toBe(false);
    const report = await checkConsistency(ledger, storeOf({ 1: stored(1, sent('Stock1', 'buy', 1)) }), { concurrency: 1 });
    expect(report).toMatchObject({ recorded: 1, checked: 1, matched: 1, mismatches: 1, duplicates: 1, missing: 0 });
    expect(report.details[0]).toMatchObject({ order_no: 1, problem: 'duplicate', reason: 'order number already acknowledged for buy 1 Stock1' });
  });

  it('bounds the details and reports progress', async () => {
    const ledger = new OrderLedger();
    for (let no = 1; no <= 50; no++) ledger.record(no, sent('Stock1', 'buy', 1));
    const progress: number[] = [];
    const report = await checkConsistency(ledger, storeOf({}), { concurrency: 8, maxDetails: 5, onChecked: (done) => progress.push(done) });
    expect(report.missing).toBe(50);
    expect(report.details.map((d) => d.order_no)).toEqual([1, 2, 3, 4, 5]);
    expect(progress).toHaveLength(50);
    expect(progress[49]).toBe(50);
  });

  it('checks nothing when nothing was recorded', async () => {
    const readBack = jest.fn(storeOf({}));
    const report = await checkConsistency(new OrderLedger(), readBack, { concurrency: 5 });
    expect(report).toMatchObject({ recorded: 0, checked: 0, matched: 0 });
    expect(readBack).not.toHaveBeenCalled();
  });
});
