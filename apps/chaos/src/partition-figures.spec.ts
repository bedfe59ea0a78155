import type { ClientOp, FaultEvent } from '@app/verify';
import { partitionFigures, unsettled } from './partition-figures';

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

  it('names each partition by its start event, the shapes with several front ends included', () => {
    const trade = (complete: number): ClientOp => ({ type: 'op', kind: 'trade', id: complete, session: 1, invoke: complete - 1, complete, outcome: 'ok', status: 200, key: `k-${complete}`, attempt: 1, stock_name: 'Stock1', trade_type: 'buy', quantity: 1, order_no: complete });
    const faults: FaultEvent[] = [
      { type: 'nemesis', t: 100, kind: 'partition', target: 'order-3', detail: 'cut frontend from leader order-3 and frontend-2 from follower order-2: both reach order-1 only, drop' },
      { type: 'nemesis', t: 400, kind: 'heal-partition', target: 'order-3', detail: 'after 300 ms; every front end named order-1 by 250 ms after the cut' },
      { type: 'nemesis', t: 500, kind: 'partition-over', target: 'order-3' },
      { type: 'nemesis', t: 600, kind: 'partition', target: 'order-1', detail: 'cut leader from frontend-2 only (frontend still reaches it), blackhole' },
      { type: 'nemesis', t: 900, kind: 'partition-over', target: 'order-1' },
    ];
    expect(partitionFigures([trade(200), trade(450), trade(700)], faults)).toEqual([
      { target: 'order-3', what: 'cut frontend from leader order-3 and frontend-2 from follower order-2: both reach order-1 only, drop', from: 100, to: 500, acked: 2, longestWithoutAckMs: 250 },
      { target: 'order-1', what: 'cut leader from frontend-2 only (frontend still reaches it), blackhole', from: 600, to: 900, acked: 1, longestWithoutAckMs: 200 },
    ]);
  });

  it('lists the times the cluster did not settle, from the nemesis\'s not-settled events', () => {
    const faults: FaultEvent[] = [
      { type: 'nemesis', t: 100, kind: 'partition', target: 'order-3', detail: 'cut frontend from leader order-3 and frontend-2 from follower order-2: both reach order-1 only, drop' },
      { type: 'nemesis', t: 900, kind: 'heal-partition', target: 'order-3' },
      { type: 'nemesis', t: 1_000, kind: 'partition-over', target: 'order-3', detail: 'every replica ready, one leader named by every front end' },
      { type: 'nemesis', t: 1_001, kind: 'not-settled', target: 'order-3', detail: 'front ends NOT on order-1' },
      { type: 'nemesis', t: 2_000, kind: 'error', target: 'order-2', detail: 'restart attempt 1 failed' },
    ];
    expect(unsettled(faults)).toEqual(['1001 ms order-3: front ends NOT on order-1']);
    expect(unsettled(faults.slice(0, 3))).toEqual([]);
  });
});
