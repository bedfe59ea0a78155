import { Cluster, http, waitFor } from './support/cluster';
import { tradeLoad } from './support/load';

/**
 * Order lookups answer only committed orders: a replica that cannot vouch for an order
 * refuses with 503 `not_committed` instead of serving an unacknowledged entry or answering 404,
 * and the front end asks one that can.
 */
describe('order lookups answer only committed orders', () => {
  let c: Cluster;

  beforeEach(async () => {
    c = await Cluster.start({ env: { ORDER_ACK_MODE: 'majority' } });
  });
  afterEach(async () => {
    for (const name of ['order-1', 'order-2']) await c?.signal(name, 'SIGCONT');
    await c?.stop();
  });

  const status = async (id: number) => (await c.internal(`${c.replica(id)}/replication/status`)).body;

  it('an appended but unacknowledged entry is never served, neither by the leader nor through the front end', async () => {
    expect(await c.leaderId()).toBe(3);
    const before = await http(`${c.frontend}/orders`, { body: { stock_name: 'Stock2', trade_type: 'buy', quantity: 1 } });
    expect(before.status).toBe(200);
    const committed = before.body.order_no as number;
    await waitFor('the first order committed', async () => (await status(3)).commit_no >= committed);

    await c.signal('order-1', 'SIGSTOP');
    await c.signal('order-2', 'SIGSTOP');
    const sent = { stock_name: 'Stock1', trade_type: 'buy', quantity: 3 };
    const trade = http(`${c.frontend}/orders`, { body: sent, timeoutMs: 60000 });
    // The leader traded and appended it, but no follower can hold it: it is not acknowledged.
    const appended = await waitFor('the leader to append the trade', async () => {
      const s = await status(3);
      return s.last_no > committed ? s : undefined;
    });
    const n = appended.last_no as number;
    expect(appended.commit_no).toBeLessThan(n);

    const direct = await c.internal(`${c.replica(3)}/query?order_no=${n}`);
    expect(direct.status).toBe(503);
    expect(direct.body.code).toBe('not_committed');
    expect(direct.body.data).toBeUndefined();
    expect(direct.body.error.message).toMatch(new RegExp(`cannot vouch for order ${n}`));
    // A committed order is still served, and a number beyond the leader's log is still a 404.
    expect((await c.internal(`${c.replica(3)}/query?order_no=${committed}`)).body.data).toMatchObject({ order_no: committed, stock_name: 'Stock2' });
    const beyond = await c.internal(`${c.replica(3)}/query?order_no=${n + 1000}`);
    expect([404, 503]).toContain(beyond.status); // 404 while it leads; 503 once it gave up leading without a majority

    const viaFrontend = await http(`${c.frontend}/orders?order_no=${n}`, { timeoutMs: 20000 });
    expect(viaFrontend.status).toBe(503);
    expect(viaFrontend.body.data).toBeUndefined();
    expect(viaFrontend.body.error.code).toBe(503);

    const outcome = await trade;
    expect(outcome.status).toBe(503); // never acknowledged
    const after = await http(`${c.frontend}/orders?order_no=${n}`, { timeoutMs: 20000 });
    expect(after.status).toBe(503);
    expect(after.body.data).toBeUndefined();

    // Healed: whatever number n finally holds is what a lookup gives — never the entry while it was unsure.
    await c.signal('order-1', 'SIGCONT');
    await c.signal('order-2', 'SIGCONT');
    const log = await c.converged();
    const final = await waitFor('a definite answer for order n', async () => {
      const r = await http(`${c.frontend}/orders?order_no=${n}`, { timeoutMs: 20000 });
      return r.status === 200 || r.status === 404 ? r : undefined;
    });
    const entry = log.find((o) => o.order_no === n);
    if (entry) {
      expect(final.body).toEqual({ data: { order_no: n, stock_name: entry.stock_name, trade_type: entry.trade_type, quantity: entry.quantity } });
    } else {
      expect(final.status).toBe(404);
    }
  });

  it('right after a leader change, every acknowledged order reads back (never a 404), and an unknown number is a 404', async () => {
    const load = tradeLoad(c, { sessions: 3, perSession: 10 });
    const { acked, errors } = await load.done;
    expect(errors).toEqual([]);
    expect(acked.length).toBeGreaterThan(0);
    await c.kill('order-3');
    // At once, all together: the front end's leader is dead, the new one is being elected and
    // promoted, and the followers may not have learnt the last commit point.
    const answers = await Promise.all(acked.map((a) => http(`${c.frontend}/orders?order_no=${a.order_no}`, { timeoutMs: 20000 })));
    answers.forEach((res, i) => {
      const a = acked[i];
      expect({ order_no: a.order_no, status: res.status, body: res.body }).toEqual({
        order_no: a.order_no,
        status: 200,
        body: { data: { order_no: a.order_no, stock_name: a.stock_name, trade_type: a.trade_type, quantity: a.quantity } },
      });
    });
    expect(await c.waitNewLeader(3)).toBe(2);
    const unknown = await waitFor('a settled leader to say 404', async () => {
      const r = await http(`${c.frontend}/orders?order_no=99999`, { timeoutMs: 20000 });
      return r.status === 503 ? undefined : r;
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: 404, message: 'order not found' } });
    // A follower never answers 404: it cannot vouch for a number above its commit point.
    const follower = await c.internal(`${c.replica(1)}/query?order_no=99999`);
    expect(follower.status).toBe(503);
    expect(follower.body.code).toBe('not_committed');
  });
});
