import { checksumHolds, ORDER_CHECKSUM_PATTERN, orderChecksum } from './checksum';

describe('orderChecksum', () => {
  const order = { order_no: 7, request_id: 'req-7', stock_name: 'GameStart', trade_type: 'buy', quantity: 5, created_at: 1_700_000_000_000 };

  it('is 16 hex digits, the same for the same entry', () => {
    expect(orderChecksum(order)).toMatch(ORDER_CHECKSUM_PATTERN);
    expect(orderChecksum({ ...order })).toBe(orderChecksum(order));
  });

  it('changes with every field it covers', () => {
    const sum = orderChecksum(order);
    for (const changed of [
      { order_no: 8 },
      { request_id: 'req-8' },
      { stock_name: 'FishCo' },
      { trade_type: 'Buy' },
      { quantity: 55 },
      { idempotency_key: 'other-key' },
      { created_at: 1_700_000_000_001 },
    ]) {
      expect(orderChecksum({ ...order, ...changed })).not.toBe(sum);
    }
  });

  it('takes an absent client key as the request id (as the log stores it), and ignores the epoch stamp', () => {
    expect(orderChecksum({ ...order, idempotency_key: 'req-7' })).toBe(orderChecksum(order));
    expect(orderChecksum({ ...order, idempotency_key: null })).toBe(orderChecksum(order));
    expect(orderChecksum({ ...order, epoch: 9 } as typeof order)).toBe(orderChecksum(order));
  });

  it('holds for a matching or absent checksum only', () => {
    expect(checksumHolds({ ...order, checksum: orderChecksum(order) })).toBe(true);
    expect(checksumHolds({ ...order, checksum: null })).toBe(true);
    expect(checksumHolds(order)).toBe(true);
    expect(checksumHolds({ ...order, quantity: 6, checksum: orderChecksum(order) })).toBe(false);
    expect(checksumHolds({ ...order, checksum: '0000000000000000' })).toBe(false);
  });
});
