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
      { target: 'order-3', what: 'leader from followers', from: 1_000, to: 2_000, acked: 1_001, longestWithoutAckMs: 1, excused: 0 },
      // Still open at the end: it lasts until the last operation completed.
      { target: 'order-1', what: 'follower from leader', from: 150_000, to: 200_000, acked: 50_001, longestWithoutAckMs: 1, excused: 0 },
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
      { target: 'order-3', what: 'cut frontend from leader order-3 and frontend-2 from follower order-2: both reach order-1 only, drop', from: 100, to: 500, acked: 2, longestWithoutAckMs: 250, excused: 0 },
      { target: 'order-1', what: 'cut leader from frontend-2 only (frontend still reaches it), blackhole', from: 600, to: 900, acked: 1, longestWithoutAckMs: 200, excused: 0 },
    ]);
  });

  it('gives a partition its shape and scope, and counts the failures it excused: a front end cut from the catalog, its lookups only', () => {
    const op = (id: number, kind: 'read' | 'trade', frontend: string, status: number, invoke: number): ClientOp =>
      kind === 'read'
        ? { type: 'op', kind, id, session: 1, frontend, stock_name: 'Stock1', invoke, complete: invoke + 5, outcome: status === 200 ? 'ok' : 'fail', status, ...(status === 200 ? { trade_volume: 0, quantity: 100 } : {}) }
        : { type: 'op', kind, id, session: 1, frontend, key: `k${id}`, attempt: 1, stock_name: 'Stock1', trade_type: 'buy', quantity: 1, invoke, complete: invoke + 5, outcome: status === 200 ? 'ok' : 'unknown', status, ...(status === 200 ? { order_no: id } : {}) };
    const ops = [
      op(1, 'read', 'frontend-2', 503, 150), // excused: a lookup through the cut front end
      op(2, 'read', 'frontend-2', 0, 200), // excused: no answer
      op(3, 'read', 'frontend', 503, 250), // not: the other front end reaches the catalog
      op(4, 'trade', 'frontend-2', 503, 300), // not: a trade goes to the order leader
      op(5, 'trade', 'frontend', 200, 350),
      op(6, 'read', 'frontend-2', 503, 2_000), // not: after the span
    ];
    const faults: FaultEvent[] = [
      { type: 'nemesis', t: 100, kind: 'partition', target: 'frontend-2', detail: 'cut frontend-2 from the catalog, pushes to it lost too (frontend still reaches the catalog), drop', shape: 'frontend-from-catalog', scope: { frontend: 'frontend-2', kinds: ['read'] } },
      { type: 'nemesis', t: 500, kind: 'partition-over', target: 'frontend-2' },
    ];
    expect(partitionFigures(ops, faults)).toEqual([
      {
        target: 'frontend-2',
        what: 'cut frontend-2 from the catalog, pushes to it lost too (frontend still reaches the catalog), drop',
        shape: 'frontend-from-catalog',
        scope: { frontend: 'frontend-2', kinds: ['read'] },
        from: 100,
        to: 500,
        acked: 1,
        longestWithoutAckMs: 255,
        excused: 2,
      },
    ]);
    // Without a scope (the other shapes), every 503 or unanswered request in the span is excused.
    const unscoped = faults.map(({ scope: _scope, ...f }) => f);
    expect(partitionFigures(ops, unscoped)[0].excused).toBe(4);
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
