import { acknowledgedByNumber, describeRow, judgeReadBack, orderDifferences, sameRow, type TradeData } from './rows';

const trade = (stock_name: string, trade_type: string, quantity: number): TradeData => ({ stock_name, trade_type, quantity });

describe('orderDifferences', () => {
  it('finds no difference for an identical order', () => {
    expect(orderDifferences(3, trade('Stock1', 'buy', 5), { order_no: 3, stock_name: 'Stock1', trade_type: 'buy', quantity: 5 })).toEqual([]);
  });

  it('compares the trade type spelling exactly', () => {
    expect(orderDifferences(3, trade('Stock1', 'Buy', 5), { order_no: 3, stock_name: 'Stock1', trade_type: 'buy', quantity: 5 })).toEqual(['trade_type']);
  });

  it('names every differing field', () => {
    expect(orderDifferences(3, trade('Stock1', 'sell', 5), { order_no: 4, stock_name: 'Stock2', trade_type: 'buy', quantity: 6 })).toEqual([
      'order_no',
      'stock_name',
      'trade_type',
      'quantity',
    ]);
  });
});

describe('log rows', () => {
  const row = { order_no: 3, epoch: 2, request_id: 'k1', stock_name: 'Stock1', trade_type: 'buy', quantity: 5 };

  it('describes a row with its epoch when it has one', () => {
    expect(describeRow(row)).toBe('#3 k1 buy 5 Stock1 (epoch 2)');
    expect(describeRow({ ...row, epoch: undefined })).toBe('#3 k1 buy 5 Stock1');
  });

  it('tells rows apart by number, key, epoch and data', () => {
    expect(sameRow(row, { ...row })).toBe(true);
    for (const other of [{ order_no: 4 }, { request_id: 'k2' }, { epoch: 3 }, { epoch: undefined }, { trade_type: 'Buy' }, { quantity: 6 }, { stock_name: 'Stock2' }]) {
      expect(sameRow(row, { ...row, ...other })).toBe(false);
    }
  });

  it("tells copies apart by the time they were written and their checksum, when the logs were read with them", () => {
    const copy = { ...row, created_at: 1_700_000_000_000, checksum: 'abcd' };
    expect(sameRow(copy, { ...copy })).toBe(true);
    for (const other of [{ created_at: 1_700_000_005_000 }, { checksum: 'abce' }, { checksum: null }]) expect(sameRow(copy, { ...copy, ...other })).toBe(false);
    expect(describeRow(copy)).toMatch(/written at 1700000000000, checksum abcd$/);
  });
});

describe('read-back verdicts', () => {
  const sent = trade('Stock1', 'Buy', 5);

  it('matches the same order, names the fields of another, and calls no answer missing', () => {
    expect(judgeReadBack(3, sent, { order_no: 3, ...sent })).toEqual({ verdict: 'match' });
    expect(judgeReadBack(3, sent, { order_no: 3, ...sent, trade_type: 'buy' })).toEqual({ verdict: 'mismatch', fields: ['trade_type'] });
    expect(judgeReadBack(3, sent, undefined)).toEqual({ verdict: 'missing' });
  });
});

describe('acknowledgements by order number', () => {
  it('groups every acknowledgement under its number, in the order given', () => {
    const byNo = acknowledgedByNumber([
      [1, 'a'],
      [2, 'b'],
      [1, 'c'],
      [1, 'a'],
    ] as const);
    expect([...byNo]).toEqual([
      [1, ['a', 'c', 'a']],
      [2, ['b']],
    ]);
  });
});
