import { randomUUID } from 'node:crypto';
import { ACKED_LOG_CHECKS, catalogMatchesLog, checkLog, violationLines } from '@app/verify';
import { Cluster, http, OrderRow } from './cluster';
import { setTimeout as delay } from 'node:timers/promises';

export interface AckedOrder {
  key: string;
  order_no: number;
  stock_name: string;
  trade_type: string;
  quantity: number;
}

export interface LoadOutcome {
  acked: AckedOrder[];
  refused: number;
  /** Anything other than 200 or 409 ("Trade failed!"): what a client would notice. */
  errors: { status: number; body: string }[];
}

/** Loads not stopped yet: a test that fails before its `stop()` leaves one running. */
const running = new Set<{ stop(): Promise<LoadOutcome> }>();

// Top level, so it applies to every test of every suite that loads this module: a load left running
// by a failed test is stopped before the next test begins, instead of trading against the next
// cluster (or looping against a stopped one) and keeping Jest from exiting at the end.
afterEach(async () => {
  await Promise.all([...running].map((load) => load.stop()));
});

/**
 * Test-side load: `sessions` concurrent clients trading through the front end until `stop()`
 * resolves or each has made `perSession` trades. Each trade has its own idempotency key and is
 * sent once — no client-side retry, so any failover the front end does not hide shows as an error.
 * A session whose trade got no answer at all (status 0: refused, reset) pauses 50 ms first, so that
 * a stopped front end is not asked in a tight loop.
 */
export function tradeLoad(c: Pick<Cluster, 'frontend'>, opts: { sessions?: number; perSession?: number; stocks?: number } = {}) {
  const sessions = opts.sessions ?? 4;
  const perSession = opts.perSession ?? Number.MAX_SAFE_INTEGER;
  const stocks = opts.stocks ?? 10;
  const out: LoadOutcome = { acked: [], refused: 0, errors: [] };
  let stopping = false;
  const runners = Array.from({ length: sessions }, async (_, s) => {
    for (let i = 0; i < perSession && !stopping; i++) {
      const order = {
        stock_name: `Stock${((s * 7 + i) % stocks) + 1}`,
        trade_type: i % 2 === 0 ? 'Buy' : 'sell',
        quantity: (i % 3) + 1,
      };
      const key = randomUUID();
      try {
        const res = await http(`${c.frontend}/orders`, { body: order, headers: { 'Idempotency-Key': key }, timeoutMs: 60000 });
        if (res.status === 200) out.acked.push({ key, order_no: res.body.order_no, ...order });
        else if (res.status === 409) out.refused++;
        else out.errors.push({ status: res.status, body: res.text });
      } catch (e) {
        out.errors.push({ status: 0, body: String(e) });
        await delay(50);
      }
    }
  });
  const done = Promise.all(runners).then(() => out);
  const load = {
    outcome: out,
    done,
    /** Waits until at least `n` orders have been acknowledged. */
    async acked(n: number, timeoutMs = 60000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (out.acked.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${out.acked.length} of ${n} orders acknowledged`);
        await delay(20);
      }
    },
    stop(): Promise<LoadOutcome> {
      stopping = true;
      running.delete(load);
      return done;
    },
  };
  running.add(load);
  return load;
}

/**
 * The bazaar's guarantees over a final log: numbered 1..N without gaps, no order number or request
 * id twice, every acknowledged order present once under the number it was acknowledged with and the
 * data the client sent, and the catalog in step.
 */
export async function expectConsistent(c: Pick<Cluster, 'stocksTable'>, log: OrderRow[], acked: AckedOrder[]): Promise<void> {
  const results = checkLog(ACKED_LOG_CHECKS, {
    acked: acked.map(({ order_no, ...a }) => ({ ...a, orderNos: [order_no] })),
    logs: { log },
    catalog: [],
  });
  expect(violationLines(results)).toEqual([]);
  await expectCatalogMatchesLog(c, log);
}

/**
 * The catalog in step with the log: for every stock, initial quantity − bought + sold = catalog quantity and
 * trade_volume = bought + sold, over the orders in the log. `direct` adds shares traded at the
 * catalog directly (not through the order service), per stock, as buys.
 */
export async function expectCatalogMatchesLog(c: Pick<Cluster, 'stocksTable'>, log: OrderRow[], direct: Record<string, number> = {}): Promise<void> {
  const stocks = await c.stocksTable();
  expect(stocks).toHaveLength(10);
  expect(violationLines(checkLog([catalogMatchesLog], { acked: [], logs: { log }, catalog: stocks, direct }))).toEqual([]);
}

/** Every acknowledged order reads back through the front end with the data the client sent. */
export async function expectReadable(c: Pick<Cluster, 'frontend'>, acked: AckedOrder[]): Promise<void> {
  for (const a of acked) {
    const res = await http(`${c.frontend}/orders?order_no=${a.order_no}`);
    expect(res.body).toEqual({ data: { order_no: a.order_no, stock_name: a.stock_name, trade_type: a.trade_type, quantity: a.quantity } });
  }
}
