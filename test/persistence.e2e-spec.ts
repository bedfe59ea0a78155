import { Cluster, http, OrderRow, placeOrder } from './support/cluster';
import { expectCatalogMatchesLog } from './support/load';

/**
 * State survives restarts of any process, epochs only grow, recovery catches up, and nothing acknowledged is lost,
 * on real processes: every service restarted one at a time with SIGTERM, then the whole cluster
 * killed at once with SIGKILL and started again. Orders, order numbering and the catalog must come
 * back exactly as they were.
 */
const STOCKS = Array.from({ length: 10 }, (_, i) => `Stock${i + 1}`);
const REPLICAS = [1, 2, 3];

interface Snapshot {
  orders: unknown[];
  catalog: unknown[];
  stocksTable: unknown[];
  log: OrderRow[];
}

describe('persistence across restarts', () => {
  let c: Cluster;
  /** Orders as the client sent them, by order number. */
  const placed = new Map<number, { stock_name: string; trade_type: string; quantity: number }>();
  const keyed = { key: `persist-key-${Date.now()}`, order_no: 0 };

  beforeAll(async () => {
    c = await Cluster.start();
  });
  afterAll(() => c?.stop());

  const epoch = async (): Promise<number> => {
    const res = await http(`${c.frontend}/leader`);
    expect(res.status).toBe(200);
    expect(typeof res.body.epoch).toBe('number');
    return res.body.epoch;
  };

  const order = async (o: { stock_name: string; trade_type: string; quantity: number }, key?: string) => {
    const res = await placeOrder(c.frontend, o, key);
    expect({ order: o, status: res.status }).toEqual({ order: o, status: 200 });
    placed.set(res.body.order_no, o);
    return res.body.order_no;
  };

  /** Everything a client or an operator could observe, read through the public and internal APIs and from the files. */
  const snapshot = async (): Promise<Snapshot> => {
    const n = placed.size;
    const orders = [];
    for (let no = 1; no <= n; no++) {
      const res = await http(`${c.frontend}/orders?order_no=${no}`);
      orders.push({ status: res.status, body: res.body });
    }
    const catalog = [];
    for (const s of STOCKS) {
      const res = await c.internal(`${c.catalog}/query?stock_name=${s}`);
      catalog.push({ status: res.status, body: res.body });
    }
    return { orders, catalog, stocksTable: await c.stocksTable(), log: await c.converged() };
  };

  /**
   * Every order of every replica's log as it was, field for field. An entry's epoch is the stamp
   * of the leader that last adopted it: a new leader stamps the entries it inherited above the
   * commit point it knows with its own epoch (Raft's "Figure 8"; see LeadershipService), and
   * after the whole cluster is killed it may not know that the last orders were committed. So a
   * stamp may grow, never shrink, and the replicas still agree on it (`converged`).
   */
  const expectSameAs = async (before: Snapshot) => {
    const after = await snapshot();
    expect(after.orders).toEqual(before.orders);
    expect(after.catalog).toEqual(before.catalog);
    expect(after.stocksTable).toEqual(before.stocksTable);
    const unstamped = (log: OrderRow[]) => log.map(({ epoch: _epoch, ...order }) => order);
    expect(unstamped(after.log)).toEqual(unstamped(before.log));
    const olderStamps = after.log.filter((entry, i) => entry.epoch < before.log[i].epoch);
    expect(olderStamps).toEqual([]);
  };

  /** The next order number is free, then taken by the next trade: N+1. */
  const expectNextNumber = async () => {
    const n = placed.size;
    const free = await http(`${c.frontend}/orders?order_no=${n + 1}`);
    expect(free.status).toBe(404);
    const no = await order({ stock_name: 'Stock9', trade_type: 'buy', quantity: 1 });
    expect(no).toBe(n + 1);
  };

  let before: Snapshot;
  let epochBefore: number;

  /** What a restart keeps: everything observable reads as {@link before}, and the epoch is above {@link epochBefore}. */
  const itKeepsStateWithAGreaterEpoch = (epochTitle: string) => {
    it('every order reads back identically and the catalog is unchanged', async () => {
      await expectSameAs(before);
    });

    it(epochTitle, async () => {
      expect(await epoch()).toBeGreaterThan(epochBefore);
    });
  };

  it('places orders on several stocks, buys and sells, numbered 1..N', async () => {
    const trades: [string, string, number][] = [
      ['Stock1', 'buy', 10],
      ['Stock2', 'buy', 20],
      ['Stock1', 'sell', 3],
      ['Stock3', 'Buy', 7],
      ['Stock2', 'SELL', 5],
      ['Stock4', 'buy', 100],
      ['Stock4', 'sell', 40],
      ['Stock5', 'buy', 1],
      ['Stock3', 'sell', 2],
      ['Stock1', 'BUY', 9],
    ];
    for (const [stock_name, trade_type, quantity] of trades) await order({ stock_name, trade_type, quantity });
    keyed.order_no = await order({ stock_name: 'Stock6', trade_type: 'buy', quantity: 4 }, keyed.key);
    // A refused trade gets no number.
    const refused = await placeOrder(c.frontend, { stock_name: 'Stock4', trade_type: 'buy', quantity: 61 });
    expect(refused.status).toBe(409);
    expect([...placed.keys()]).toEqual(Array.from({ length: trades.length + 1 }, (_, i) => i + 1));

    before = await snapshot();
    epochBefore = await epoch();
    for (const [no, o] of placed) expect(before.orders[no - 1]).toEqual({ status: 200, body: { data: { order_no: no, ...o } } });
    expect(before.log.map((r) => r.order_no)).toEqual([...placed.keys()]);
  });

  describe('every service restarted one at a time with SIGTERM', () => {
    beforeAll(async () => {
      await c.signal('catalog', 'SIGTERM');
      await c.startCatalog();
      for (const id of REPLICAS) {
        await c.signal(`order-${id}`, 'SIGTERM');
        await c.startReplica(id);
        await c.waitReady(id);
      }
      await c.signal('frontend', 'SIGTERM');
      await c.startFrontend();
    });

    itKeepsStateWithAGreaterEpoch('the restarted front end uses a greater epoch than before');

    it('an Idempotency-Key used before the restarts replays its order number and trades nothing', async () => {
      const stock6 = (await c.internal(`${c.catalog}/query?stock_name=Stock6`)).body.data;
      const res = await placeOrder(c.frontend, { stock_name: 'Stock6', trade_type: 'buy', quantity: 4 }, keyed.key);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ order_no: keyed.order_no });
      expect((await c.internal(`${c.catalog}/query?stock_name=Stock6`)).body.data).toEqual(stock6);
    });

    it('the next order gets number N+1', async () => {
      await expectNextNumber();
    });
  });

  describe('the whole cluster killed at once with SIGKILL and started again', () => {
    beforeAll(async () => {
      before = await snapshot();
      epochBefore = await epoch();
      await Promise.all(['frontend', 'catalog', ...REPLICAS.map((id) => `order-${id}`)].map((name) => c.kill(name)));
      for (const name of ['frontend', 'catalog', ...REPLICAS.map((id) => `order-${id}`)]) expect(c.isRunning(name)).toBe(false);
      await c.startCatalog();
      await Promise.all(REPLICAS.map((id) => c.startReplica(id)));
      await Promise.all(REPLICAS.map((id) => c.waitReady(id)));
      await c.startFrontend();
    });

    itKeepsStateWithAGreaterEpoch('the epoch grew again');

    it('the next order gets number N+1, and the replicas agree', async () => {
      await expectNextNumber();
      const log = await c.converged();
      expect(log.map((r) => r.order_no)).toEqual([...placed.keys()].sort((a, b) => a - b));
      for (const r of log) {
        const o = placed.get(r.order_no)!;
        expect({ stock_name: r.stock_name, trade_type: r.trade_type, quantity: r.quantity }).toEqual(o);
      }
    });

    it('the catalog follows from the order log: 100 − bought + sold = quantity, volume = bought + sold', async () => {
      const log = await c.converged();
      await expectCatalogMatchesLog(c, log);
    });
  });
});
