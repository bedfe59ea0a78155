import type { OrderInfo, OrderRecordDto, StockInfo } from '@app/contracts';

/**
 * An entry of an order replica's log as the checks read it (from its SQLite file). `epoch` may be
 * missing: a log without epochs is one of the things the checks must be able to report.
 */
export type LogRow = Pick<OrderRecordDto, 'order_no' | 'request_id' | 'stock_name' | 'trade_type' | 'quantity'> & {
  epoch?: number;
  /** The copy's own fields, when the log was read with them: when it was written, and its checksum. */
  created_at?: number;
  checksum?: string | null;
};

/** A row of the catalog's `stocks` table, as far as the checks read it. */
export type StockRow = { name: string } & Pick<StockInfo, 'quantity' | 'trade_volume'>;

/** What a trade is: the stock, the direction in the letter case the client sent, the shares. */
export type TradeData = Pick<OrderInfo, 'stock_name' | 'trade_type' | 'quantity'>;

/** Names of the fields where `got` differs from the trade `expected` numbered `orderNo` (exact comparison). */
export function orderDifferences(orderNo: number, expected: TradeData, got: OrderInfo): string[] {
  const fields: string[] = [];
  if (got.order_no !== orderNo) fields.push('order_no');
  if (got.stock_name !== expected.stock_name) fields.push('stock_name');
  if (got.trade_type !== expected.trade_type) fields.push('trade_type');
  if (got.quantity !== expected.quantity) fields.push('quantity');
  return fields;
}

/** What an order lookup says of the trade acknowledged as `orderNo`: `found` is its answer, undefined for "no such order". */
export type ReadBackVerdict = { verdict: 'match' } | { verdict: 'mismatch'; fields: string[] } | { verdict: 'missing' };

export function judgeReadBack(orderNo: number, expected: TradeData, found: OrderInfo | undefined): ReadBackVerdict {
  if (!found) return { verdict: 'missing' };
  const fields = orderDifferences(orderNo, expected, found);
  return fields.length === 0 ? { verdict: 'match' } : { verdict: 'mismatch', fields };
}

/** Acknowledgements grouped by order number, each number's in the order given: more than one is a number given twice. */
export function acknowledgedByNumber<T>(acks: Iterable<readonly [number, T]>): Map<number, T[]> {
  const byNo = new Map<number, T[]>();
  for (const [n, t] of acks) {
    const list = byNo.get(n);
    if (list) list.push(t);
    else byNo.set(n, [t]);
  }
  return byNo;
}

export const sameData = (a: TradeData, b: TradeData): boolean =>
  a.stock_name === b.stock_name && a.trade_type === b.trade_type && a.quantity === b.quantity;

/** `#3 k1 buy 5 Stock1 (epoch 2)`, for messages. */
export const describeRow = (r: LogRow): string =>
  `#${r.order_no} ${r.request_id} ${r.trade_type} ${r.quantity} ${r.stock_name}${r.epoch !== undefined ? ` (epoch ${r.epoch})` : ''}` +
  (r.created_at !== undefined ? ` written at ${r.created_at}, checksum ${r.checksum ?? 'none'}` : '');

/** The same entry: number, request id, epoch and data, and each copy's time and checksum when read. */
export const sameRow = (a: LogRow, b: LogRow): boolean =>
  a.order_no === b.order_no &&
  a.request_id === b.request_id &&
  (a.epoch ?? null) === (b.epoch ?? null) &&
  sameData(a, b) &&
  (a.created_at ?? null) === (b.created_at ?? null) &&
  (a.checksum ?? null) === (b.checksum ?? null);
