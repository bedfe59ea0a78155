import { randomUUID } from 'node:crypto';
import { Cluster, http, waitFor } from './support/cluster';
import { AckedOrder, expectConsistent, expectReadable } from './support/load';

/**
 * The leader crashes (SIGKILLs itself) at a named point of the trade path, on its third trade.
 * The client must see every trade succeed exactly once: the front end retries with the same
 * idempotency key on the new leader, which finds the catalog's record or the replicated order.
 */
describe.each(['after-catalog-trade', 'after-local-commit', 'after-replicate-one'])('leader crash %s', (point) => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ envFor: { 'order-3': { FAULT_POINT: point, FAULT_POINT_HIT: '3' } } });
  });
  afterAll(() => c?.stop());

  it('every trade is acknowledged once, the catalog moves once, and the logs converge', async () => {
    expect(await c.leaderId()).toBe(3);
    const acked: AckedOrder[] = [];
    for (let i = 0; i < 8; i++) {
      // Buy a stock, then sell part of it back (a sell of a full stock would be refused).
      const order = { stock_name: `Stock${Math.floor(i / 2) + 1}`, trade_type: i % 2 ? 'sell' : 'BUY', quantity: i % 2 ? 2 : 5 };
      const key = randomUUID();
      const res = await http(`${c.frontend}/orders`, { body: order, headers: { 'Idempotency-Key': key } });
      expect({ i, status: res.status, body: res.body }).toEqual({ i, status: 200, body: { order_no: acked.length + 1 } });
      acked.push({ key, order_no: res.body.order_no, ...order });
      // Replaying the key after the failover gives the same number and trades nothing more.
      const replay = await http(`${c.frontend}/orders`, { body: order, headers: { 'Idempotency-Key': key } });
      expect(replay.body).toEqual(res.body);
    }
    expect(c.isRunning('order-3')).toBe(false);
    // Its log file is written by this process's pipe, which may trail the process's exit.
    await waitFor(`order-3's log to name fault point ${point}`, async () => c.log('order-3').includes(`fault point ${point} reached`), 10000);
    expect(await c.leaderId()).toBe(2);
    await c.startReplica(3, { FAULT_POINT: 'none' });
    await c.waitReady(3);
    const log = await c.converged();
    expect(log).toHaveLength(acked.length);
    await expectConsistent(c, log, acked);
    await expectReadable(c, acked);
  });
});
