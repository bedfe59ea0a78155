import type { CacheStats } from '@app/contracts/responses';
import { Cluster, freePort, http, initialStock, placeOrder, waitFor } from './support/cluster';
import { DelayProxy } from './support/delay-proxy';

/**
 * The front end's LRU cache — capacity and eviction, the on/off switch, invalidation
 * pushed by the catalog with no stale entry surviving a racing fill, read-your-writes, and the
 * seed's `GET /rm` texts. Real processes; the front end runs with a cache of two entries and
 * reaches the catalog through a proxy that delays the catalog's answers by up to 25 ms, so that
 * lookups in flight when an invalidation arrives are common rather than rare.
 */

describe('front-end cache', () => {
  let c: Cluster;
  let proxy: DelayProxy;

  beforeAll(async () => {
    const proxyPort = await freePort();
    proxy = new DelayProxy(proxyPort, () => c.catalog, 25);
    await proxy.start();
    c = await Cluster.start({
      envFor: { frontend: { CACHE_CAPACITY: '2', CATALOG_URL: `http://127.0.0.1:${proxyPort}` } },
    });
  });
  afterAll(async () => {
    await c?.stop();
    await proxy?.stop();
  });

  const stats = async (): Promise<CacheStats> => {
    const res = await http<CacheStats>(`${c.frontend}/cache/stats`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const lookup = async (name: string) => {
    const res = await http(`${c.frontend}/stocks?stock_name=${name}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const catalogStock = async (name: string) => {
    const res = await c.internal(`${c.catalog}/query?stock_name=${name}`);
    expect(res.status).toBe(200);
    return res.body.data;
  };
  /** Counter changes since `before`. */
  const delta = (before: CacheStats, after: CacheStats) => ({
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    evictions: after.evictions - before.evictions,
  });
  /** Looks up `Stock<k>` for each k in turn (each answering its initial data); returns the stats after, the counters moved by `moved`. */
  const lookUpInTurn = async (before: CacheStats, ks: number[], moved: ReturnType<typeof delta>): Promise<CacheStats> => {
    for (const k of ks) expect(await lookup(`Stock${k}`)).toEqual(initialStock(k));
    const after = await stats();
    expect(delta(before, after)).toEqual(moved);
    return after;
  };

  describe('LRU with CACHE_CAPACITY=2', () => {
    it('reports the configured capacity and starts empty', async () => {
      const s = await stats();
      expect(s).toMatchObject({ enabled: true, capacity: 2, size: 0, hits: 0, misses: 0, evictions: 0 });
    });

    it('Stock1, Stock2, Stock1, Stock3: Stock2 (least recently used) is evicted, size stays 2', async () => {
      // Stock1 and Stock2 miss; Stock1 hits (it becomes most recently used); Stock3 misses and evicts Stock2.
      const s1 = await lookUpInTurn(await stats(), [1, 2, 1, 3], { hits: 1, misses: 3, evictions: 1 });
      expect(s1.evictions).toBeGreaterThanOrEqual(1);
      expect(s1.size).toBe(2);

      // Stock1 survived the eviction (it was used after Stock2): a hit.
      const s2 = await lookUpInTurn(s1, [1], { hits: 1, misses: 0, evictions: 0 });

      // Stock2 was evicted: a miss, which in turn evicts the now least recently used Stock3.
      const s3 = await lookUpInTurn(s2, [2], { hits: 0, misses: 1, evictions: 1 });
      expect(s3.size).toBe(2);

      // Stock2 and Stock1 are the two held now: both hits; Stock3 a miss.
      const s4 = await lookUpInTurn(s3, [2, 1], { hits: 2, misses: 0, evictions: 0 });
      const s5 = await lookUpInTurn(s4, [3], { hits: 0, misses: 1, evictions: 1 });
      expect(s5.size).toBe(2);
    });

    it('an unknown stock is a 404 and takes no cache slot', async () => {
      const before = await stats();
      const res = await http(`${c.frontend}/stocks?stock_name=Stock999`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 404, message: 'Stock not found' } });
      const after = await stats();
      expect(after.size).toBe(before.size);
      expect(after.evictions).toBe(before.evictions);
    });
  });

  describe('invalidation', () => {
    it("a trade pushes an invalidation, and its answer refills the cache: the next lookup is a hit that shows the trade", async () => {
      // The precondition, made sure of: the front end holds its lease and has Stock4 cached, its
      // floor known. A hit shows both (the cache serves nothing without a lease).
      await lookup('Stock4');
      await waitFor('a hit on Stock4 (the lease held, the stock cached)', async () => {
        const s = await stats();
        await lookup('Stock4');
        return (await stats()).hits > s.hits;
      }, 10_000);
      const before = await stats();
      const res = await placeOrder(c.frontend, { stock_name: 'Stock4', trade_type: 'buy', quantity: 5 });
      expect(res.status).toBe(200);
      const mid = await stats();
      expect(mid.invalidations).toBeGreaterThan(before.invalidations);
      expect(mid.offers_taken).toBe(before.offers_taken + 1);
      expect(await lookup('Stock4')).toEqual({ ...initialStock(4), quantity: 95, trade_volume: 5 });
      expect(delta(mid, await stats())).toEqual({ hits: 1, misses: 0, evictions: 0 });
    });

    it("a trade this front end did not forward (made at the catalog: another front end's, to this one) is pushed: the next lookup misses and shows it", async () => {
      await lookup('Stock4'); // cached
      const before = await stats();
      const res = await c.internal(`${c.catalog}/trade`, { body: { stock_name: 'Stock4', type: 'sell', quantity: 5, request_id: `cache-direct-${Date.now()}` } });
      expect(res.status).toBe(200);
      const mid = await stats();
      expect(mid.invalidations).toBeGreaterThan(before.invalidations);
      expect(mid.offers_taken).toBe(before.offers_taken);
      expect(await lookup('Stock4')).toEqual({ ...initialStock(4), quantity: 100, trade_volume: 10 });
      expect(delta(mid, await stats())).toEqual({ hits: 0, misses: 1, evictions: 0 });
    });

    it('read-your-writes: right after each acknowledged trade a lookup shows it (one writer)', async () => {
      let expected = await catalogStock('Stock5');
      for (let i = 0; i < 20; i++) {
        await lookup('Stock5'); // make sure the old value is cached before the trade
        const side = i % 2 === 0 ? 'buy' : 'sell';
        const q = 1 + (Math.floor(i / 2) % 4); // a buy, then a sell of the same size: stays within 0..100
        const res = await placeOrder(c.frontend, { stock_name: 'Stock5', trade_type: side, quantity: q });
        expect(res.status).toBe(200);
        expected = {
          ...expected,
          quantity: expected.quantity + (side === 'buy' ? -q : q),
          trade_volume: expected.trade_volume + q,
        };
        const seen = await lookup('Stock5');
        expect(seen).toEqual(expected);
        expect(seen).toEqual(await catalogStock('Stock5'));
      }
    });

    it('no stale entry survives: concurrent lookups racing trades always end equal to the catalog', async () => {
      // Bring Stock1 to the middle so that buys and sells never run out or pass capacity 100.
      const start = await catalogStock('Stock1');
      const toMiddle = start.quantity - 50;
      if (toMiddle !== 0) {
        const r = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: toMiddle > 0 ? 'buy' : 'sell', quantity: Math.abs(toMiddle) });
        expect(r.status).toBe(200);
      }
      let quantity = 50;
      const before = await stats();
      const rounds = 40;
      for (let round = 0; round < rounds; round++) {
        const trades: { trade_type: string; quantity: number }[] = [];
        const count = 1 + (round % 2); // 1 or 2 trades per round
        for (let t = 0; t < count; t++) {
          const q = 1 + ((round + t) % 3);
          trades.push({ trade_type: (round + t) % 2 === 0 ? 'buy' : 'sell', quantity: q });
        }
        // 8 concurrent lookup sessions, each looking Stock1 up again and again until every trade of
        // the round has been answered, so that lookups are in flight to the catalog at every moment
        // of the trade (including when the catalog pushes its invalidation).
        let settled = false;
        const sent = trades.map((t) => placeOrder(c.frontend, { stock_name: 'Stock1', ...t }));
        const allSent = Promise.all(sent).finally(() => (settled = true));
        const session = async () => {
          const seen: { status: number; body: any }[] = [];
          do seen.push(await http(`${c.frontend}/stocks?stock_name=Stock1`));
          while (!settled && seen.length < 200);
          return seen;
        };
        const lookups = Promise.all(Array.from({ length: 8 }, session)).then((s) => s.flat());
        const [lookupResults, tradeResults] = await Promise.all([lookups, allSent]);
        for (const l of lookupResults) {
          expect(l.status).toBe(200);
          expect(l.body.stock_name).toBe('Stock1');
        }
        for (const [i, r] of tradeResults.entries()) {
          expect({ round, trade: trades[i], status: r.status }).toEqual({ round, trade: trades[i], status: 200 });
          quantity += trades[i].trade_type === 'buy' ? -trades[i].quantity : trades[i].quantity;
        }
        // Every request of the round has settled: the front end must answer what the catalog holds.
        const front = (await http(`${c.frontend}/stocks?stock_name=Stock1`)).body;
        const truth = await catalogStock('Stock1');
        expect({ round, front }).toEqual({ round, front: truth });
        expect(truth.quantity).toBe(quantity);
      }
      const after = await stats();
      // Every round's trades were pushed: at least one invalidation per round (trades the catalog
      // decides together share one push, so a round of two may cost one).
      expect(after.invalidations - before.invalidations).toBeGreaterThanOrEqual(rounds);
      expect(after.hits).toBeGreaterThan(before.hits); // the cache was actually used during the race
    });
  });

  describe('GET /rm', () => {
    it('answers the seed text for a name never cached', async () => {
      const res = await c.internal(`${c.frontend}/rm?stock_name=NeverCached`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ message: "this stock isn't exist in cache" });
    });

    it('removes a cached stock once, then says it is not there', async () => {
      await lookup('Stock6');
      expect((await c.internal(`${c.frontend}/rm?stock_name=Stock6`)).body).toEqual({ stock_name: 'Stock6', message: 'removed successfully' });
      expect((await c.internal(`${c.frontend}/rm?stock_name=Stock6`)).body).toEqual({ message: "this stock isn't exist in cache" });
    });

    it.each([
      ['malformed', '?stock_name=%3Cscript%3E'],
      ['empty', '?stock_name='],
      ['missing', ''],
      ['repeated', '?stock_name=Stock1&stock_name=Stock2'],
    ])('answers 400 in the error shape for a %s name', async (_what, query) => {
      const res = await c.internal(`${c.frontend}/rm${query}`);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(res.body.error.code).toBe(400);
      expect(typeof res.body.error.message).toBe('string');
    });
  });

  describe('CACHE_ENABLED=false', () => {
    beforeAll(async () => {
      await c.kill('frontend');
      await c.startFrontend({ CACHE_ENABLED: 'false' });
    });

    it('stats say disabled and the cache stays empty; lookups still answer correctly', async () => {
      const s0 = await stats();
      expect(s0.enabled).toBe(false);
      for (let i = 0; i < 5; i++) {
        for (const k of [1, 2, 7]) {
          expect(await lookup(`Stock${k}`)).toEqual(await catalogStock(`Stock${k}`));
        }
      }
      const s1 = await stats();
      expect(s1).toMatchObject({ enabled: false, hits: 0, size: 0 });
    });

    it('a trade is visible to the next lookup', async () => {
      const before = await catalogStock('Stock7');
      const res = await placeOrder(c.frontend, { stock_name: 'Stock7', trade_type: 'buy', quantity: 2 });
      expect(res.status).toBe(200);
      expect(await lookup('Stock7')).toEqual({ ...before, quantity: before.quantity - 2, trade_volume: before.trade_volume + 2 });
      expect((await stats()).size).toBe(0);
    });

    it('GET /rm answers the not-in-cache text', async () => {
      expect((await c.internal(`${c.frontend}/rm?stock_name=Stock7`)).body).toEqual({ message: "this stock isn't exist in cache" });
    });
  });
});
