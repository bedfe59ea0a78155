import type { ClientOp, FaultEvent } from '@app/verify';
import { partitionFigures } from './partition-figures';

describe('chaos runner: partitionFigures', () => {
  it('measures every partition of a long run (200,000 operations: more than a call takes as arguments)', () => {
    const ops: ClientOp[] = Array.from({ length: 200_000 }, (_, i) => ({
      type: 'op',
      kind: 'trade',
      id: i,
      session: i % 5,
      invoke: i,
      complete: i + 1,
      outcome: 'ok',
      status: 200,
      key: `k-${i}`,
      attempt: 1,
      stock_name: 'Stock1',
      trade_type: 'buy',
      quantity: 1,
      order_no: i + 1,
    }));
    const faults: FaultEvent[] = [
      { type: 'nemesis', t: 1_000, kind: 'partition', target: 'order-3', detail: 'leader from followers' },
      { type: 'nemesis', t: 2_000, kind: 'partition-over', target: 'order-3' },
      { type: 'nemesis', t: 150_000, kind: 'partition', target: 'order-1', detail: 'follower from leader' },
    ];
    expect(partitionFigures(ops, faults)).toEqual([
      { target: 'order-3', what: 'leader from followers', from: 1_000, to: 2_000, acked: 1_001, longestWithoutAckMs: 1 },
      // Still open at the end: it lasts until the last operation completed.
      { target: 'order-1', what: 'follower from leader', from: 150_000, to: 200_000, acked: 50_001, longestWithoutAckMs: 1 },
    ]);
  });
});
