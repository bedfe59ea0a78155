import { MAX_BODY_BYTES, OrderRecordDto, SyncDto } from '@app/contracts';
import { logEntry } from '@app/testkit/fixtures';
import { fitSyncBody, MAX_ORDER_JSON_BYTES } from './follower-link';

/**
 * An order as large as the contract allows: a 128-character request id and key, each nearly all
 * backslashes or quotes (escaped to 2 bytes each in JSON), a 64-character stock name.
 */
function largest(order_no: number): OrderRecordDto {
  return {
    order_no: 9_000_000_000_000_000 + order_no,
    epoch: Number.MAX_SAFE_INTEGER,
    request_id: `r${String(order_no).padStart(127, '\\')}`,
    idempotency_key: `k${String(order_no).padStart(127, '"')}`,
    stock_name: 'S'.repeat(64),
    trade_type: 'SELL',
    quantity: 1_000_000,
    created_at: Number.MAX_SAFE_INTEGER,
  };
}

/** A sync body around `orders`, every other field as large as it gets. */
function body(orders: OrderRecordDto[]): SyncDto {
  const big = Number.MAX_SAFE_INTEGER;
  return { leader: big, epoch: big, commit_no: big, reconciled_seq: big, prev: { order_no: big, epoch: big }, orders };
}

describe('fitSyncBody', () => {
  it('bounds one order by MAX_ORDER_JSON_BYTES', () => {
    expect(Buffer.byteLength(JSON.stringify(largest(1)))).toBeLessThanOrEqual(MAX_ORDER_JSON_BYTES);
    expect(Buffer.byteLength(JSON.stringify(largest(1)))).toBeGreaterThan(MAX_ORDER_JSON_BYTES - 100);
  });

  it('keeps a sync of the largest orders within the body limit, as many as fit', () => {
    const orders = Array.from({ length: 1000 }, (_, i) => largest(i + 1));
    const fitted = fitSyncBody(orders);
    expect(fitted.length).toBeGreaterThan(50);
    expect(fitted.length).toBeLessThan(200); // 200 of these would be refused: SYNC_BATCH_SIZE's default
    expect(Buffer.byteLength(JSON.stringify(body(fitted)))).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(Buffer.byteLength(JSON.stringify(body(orders.slice(0, fitted.length + 2))))).toBeGreaterThan(MAX_BODY_BYTES - 1024);
    expect(fitted).toEqual(orders.slice(0, fitted.length));
  });

  it('sends ordinary orders whole, up to the page asked for', () => {
    const orders = Array.from({ length: 200 }, (_, i) => logEntry(i + 1));
    expect(fitSyncBody(orders)).toBe(orders);
    expect(fitSyncBody([])).toEqual([]);
  });

  it('always sends at least one order', () => {
    const huge = { ...logEntry(1), request_id: 'x'.repeat(MAX_BODY_BYTES) };
    const rest = Array.from({ length: 100 }, (_, i) => logEntry(i + 2));
    expect(fitSyncBody([huge, ...rest])).toEqual([huge]);
  });
});
