import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, http, placeOrder, replicaStatus } from './support/cluster';

/**
 * A replica rebuilt from its peers (its file lost, started again empty) has forgotten the orders
 * it acknowledged and the epochs it voted in. Here replica 2's copy was the one that made three
 * orders durable (replica 1 was paused), then its file is lost and the leader, replica 3, crashes:
 * those orders are now on replica 3's disk alone. Before the fix, the rebuilt replica caught up
 * from replica 1 alone and became ready, and replica 1 led with its vote, its log lacking what it
 * had not received (here the last order, which came back only because the new leader records the
 * catalog's trades that have no order). Now the rebuilt replica waits, not ready and voting for no
 * one, until both peers answer, so nothing leads until replica 3 is back; then every acknowledged
 * order is there, as the client sent it, at its number.
 */
describe('a replica rebuilt from its peers', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start();
  });
  afterAll(() => c?.stop());

  it('serves and votes only once it has heard both peers: the orders its lost copy made durable are not lost with another replica down', async () => {
    expect(await c.waitLeading()).toBe(3);
    await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    await c.converged();

    // Replica 1 paused: the next orders are acknowledged with replica 2's copy.
    await c.signal('order-1', 'SIGSTOP');
    const acked: { order_no: number; stock_name: string; quantity: number }[] = [];
    for (let i = 2; i <= 4; i++) {
      const res = await placeOrder(c.frontend, { stock_name: `Stock${i}`, trade_type: 'buy', quantity: i });
      expect(res.status).toBe(200);
      acked.push({ order_no: res.body.order_no, stock_name: `Stock${i}`, quantity: i });
    }
    // Replica 2's file is lost, and the leader crashes: those orders are on replica 3's disk alone.
    await c.kill('order-2');
    for (const f of readdirSync(c.dataDir).filter((f) => f.startsWith('order-2.sqlite'))) rmSync(join(c.dataDir, f));
    await c.kill('order-3');
    await c.signal('order-1', 'SIGCONT');
    await c.startReplica(2);

    // Long enough for an election and a promotion with the test timers (it took about 2 s before the fix).
    await sleep(6000);
    const ping = await http(`${c.replica(2)}/ping`, { timeoutMs: 2000 });
    // (The front end names its candidate, replica 1, as soon as it accepts its epoch: what counts is whether it leads.)
    const statuses = await Promise.all([1, 2].map((id) => replicaStatus(c.token, c.replica(id), 2000)));
    const leading = statuses.filter((s) => s.body?.role === 'leader').map((s) => s.body.id);
    // Before the fix replica 1 led here, with the rebuilt replica's vote, its log lacking the last orders.
    let tradedDuring: number | undefined;
    if (leading.length > 0) {
      const res = await placeOrder(c.frontend, { stock_name: 'Stock9', trade_type: 'buy', quantity: 9 });
      if (res.status === 200) tradedDuring = res.body.order_no;
    }

    await c.startReplica(3);
    await c.waitReady(2);
    await c.waitLeading();
    for (const a of acked) {
      const res = await http(`${c.frontend}/orders?order_no=${a.order_no}`);
      expect({ order_no: a.order_no, status: res.status, data: res.body?.data }).toEqual({
        order_no: a.order_no,
        status: 200,
        data: { order_no: a.order_no, stock_name: a.stock_name, trade_type: 'buy', quantity: a.quantity },
      });
    }
    expect(tradedDuring ?? Infinity).toBeGreaterThan(Math.max(...acked.map((a) => a.order_no)));
    expect({ status: ping.status, message: ping.body?.error?.message }).toEqual({
      status: 503,
      message: expect.stringMatching(/its file is new or was emptied .*1 of its 2 peers answered: it needs 2/),
    });
    expect(leading).toEqual([]);

    const after = await placeOrder(c.frontend, { stock_name: 'Stock5', trade_type: 'buy', quantity: 5 });
    expect(after.status).toBe(200);
    expect(after.body.order_no).toBe(Math.max(...acked.map((a) => a.order_no)) + 1);
    const log = await c.converged();
    expect(log.map((r) => r.order_no)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
  }, 120000);
});
