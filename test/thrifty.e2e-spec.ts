import { Cluster, placeOrder, requestsAnswered, waitFor } from './support/cluster';

/**
 * Thrifty replication with the real apps: a majority of 3 needs one follower besides the leader,
 * so leader 3 sends each new order at once only to follower 2 (the highest id), and follower 1,
 * the spare, gets its orders `SPARE_SYNC_ENTRIES` (8) at a time or on the heartbeat. Counted here
 * from each follower's own request metrics (`POST /sync` answered 200). The heartbeat is set to
 * 1 s so that its syncs stay few whatever the speed of the host.
 * - One trade at a time: follower 2 is sent every order, follower 1 far fewer syncs; every order
 *   is acknowledged and, once idle, every log is the same.
 * - Follower 2 killed: every trade is still acknowledged (follower 1 is sent each order at once
 *   from then on), and nothing acknowledged is missing from follower 1.
 * - `SPARE_SYNC_ENTRIES=0`: both followers are sent every order, as before thrifty replication.
 */

const TRADES = 48;
const SETTINGS = { HEARTBEAT_INTERVAL_MS: '1000' };

/** `POST /sync` requests a replica answered with 200, from its `/metrics`. */
const syncsAnswered = (c: Cluster, id: number): Promise<number> => requestsAnswered(c.replica(id), '/sync');

/** `n` trades one at a time through the front end; every one must be acknowledged. */
async function tradeOneAtATime(c: Cluster, n: number): Promise<number[]> {
  const orderNos: number[] = [];
  for (let i = 0; i < n; i++) {
    // A buy, then a sell of the same stock: every stock stays within its capacity.
    const res = await placeOrder(c.frontend, { stock_name: `Stock${(Math.floor(i / 2) % 10) + 1}`, trade_type: i % 2 === 0 ? 'buy' : 'sell', quantity: 1 });
    expect([i, res.status]).toEqual([i, 200]);
    orderNos.push(res.body.order_no);
  }
  return orderNos;
}

describe('thrifty replication (SPARE_SYNC_ENTRIES)', () => {
  let c: Cluster | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  it('sends each order at once only to the follower the majority needs; the spare gets them in batches, and catches up when idle', async () => {
    c = await Cluster.start({ env: SETTINGS });
    expect(await c.leaderId()).toBe(3);
    const before = { 1: await syncsAnswered(c, 1), 2: await syncsAnswered(c, 2) };
    const orderNos = await tradeOneAtATime(c, TRADES);
    const sent = { 1: (await syncsAnswered(c, 1)) - before[1], 2: (await syncsAnswered(c, 2)) - before[2] };
    expect(sent[2]).toBeGreaterThanOrEqual(TRADES);
    console.log(`syncs answered during ${TRADES} trades one at a time: follower 2 ${sent[2]}, the spare ${sent[1]}`);
    expect(sent[1]).toBeLessThan(TRADES / 2);
    const log = await c.converged([1, 2, 3], 30000);
    expect(log.map((o) => o.order_no)).toEqual(expect.arrayContaining(orderNos));
  });

  it('with the follower counted on killed, trades go on through the spare, each order sent to it at once', async () => {
    c = await Cluster.start({ env: SETTINGS });
    expect(await c.leaderId()).toBe(3);
    await tradeOneAtATime(c, 4);
    await c.kill('order-2');
    const before = await syncsAnswered(c, 1);
    const orderNos = await tradeOneAtATime(c, TRADES);
    expect((await syncsAnswered(c, 1)) - before).toBeGreaterThanOrEqual(TRADES);
    const onSpare = new Set((await c.orderTable(1)).map((o) => o.order_no));
    expect(orderNos.filter((n) => !onSpare.has(n))).toEqual([]);
  });

  it('with SPARE_SYNC_ENTRIES=0 sends every follower every order at once', async () => {
    c = await Cluster.start({ env: { ...SETTINGS, SPARE_SYNC_ENTRIES: '0' } });
    expect(await c.leaderId()).toBe(3);
    const before = { 1: await syncsAnswered(c, 1), 2: await syncsAnswered(c, 2) };
    await tradeOneAtATime(c, TRADES);
    await waitFor('both followers to be sent every order', async () => (await syncsAnswered(c!, 1)) - before[1] >= TRADES, 10000);
    expect((await syncsAnswered(c, 2)) - before[2]).toBeGreaterThanOrEqual(TRADES);
  });
});
