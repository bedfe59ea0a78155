import { Cluster, http, initialStock, placeOrder, waitFor } from './support/cluster';
import { expectCatalogMatchesLog } from './support/load';

/** Every row of the public API table, the catalog's semantics and bad input (a clear 4xx, nothing changed), on real processes. */
describe('public API and catalog semantics', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ envFor: { catalog: { STOCK_CAPACITY: '100' } } });
  });
  afterAll(() => c?.stop());

  /** Request ids of trades applied at the catalog directly: reconciliation must still log them. */
  const directlyApplied: string[] = [];
  const stock = async (name: string) => (await http(`${c.frontend}/stocks?stock_name=${name}`)).body;
  const catalogStock = async (name: string) => (await c.internal(`${c.catalog}/query?stock_name=${name}`)).body.data;

  describe('GET /stocks', () => {
    it('answers the seeded stock in exactly the seed shape', async () => {
      const res = await http(`${c.frontend}/stocks?stock_name=Stock3`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(initialStock(3));
      expect(Object.keys(res.body).sort()).toEqual(['price', 'quantity', 'stock_name', 'trade_volume']);
      expect((await http(`${c.frontend}/stocks?stock_name=Stock10`)).body.price).toBe(99.99);
    });

    it('answers 404 in the error shape for an unknown stock', async () => {
      const res = await http(`${c.frontend}/stocks?stock_name=Nope`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 404, message: 'Stock not found' } });
    });

    it('answers 400 "stock_name is required" without a name, as the contract says (no listing)', async () => {
      const res = await http(`${c.frontend}/stocks`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 400, message: 'stock_name is required' } });
      // The catalog's internal listing (GET /query without a name) stays: every stock, sorted by name.
      const listing = await c.internal(`${c.catalog}/query`);
      const names = listing.body.data.map((s: { stock_name: string }) => s.stock_name);
      expect(names).toEqual([...names].sort());
      expect(listing.body.data.find((s: { stock_name: string }) => s.stock_name === 'Stock3')).toEqual(await stock('Stock3'));
    });

    it.each([
      ['missing', ''],
      ['missing (another parameter only)', '?name=Stock1'],
      ['empty', '?stock_name='],
      ['malformed', '?stock_name=%3Cscript%3E'],
      ['repeated', '?stock_name=Stock1&stock_name=Stock2'],
      ['too long', `?stock_name=${'S'.repeat(500)}`],
    ])('answers 400 in the error shape for a %s name', async (_what, query) => {
      const res = await http(`${c.frontend}/stocks${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(400);
      expect(typeof res.body.error.message).toBe('string');
      expect(Object.keys(res.body)).toEqual(['error']);
    });
  });

  describe('POST /orders', () => {
    it('buys: numbers orders from 1, moves the catalog, and a lookup sees the trade (read-your-writes)', async () => {
      expect((await stock('Stock1')).quantity).toBe(100); // now cached
      const first = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 10 });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ order_no: 1 });
      expect(await stock('Stock1')).toEqual({ ...initialStock(1), quantity: 90, trade_volume: 10 });
      const second = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'SELL', quantity: 4 });
      expect(second.body).toEqual({ order_no: 2 });
      expect(await stock('Stock1')).toEqual({ ...initialStock(1), quantity: 94, trade_volume: 14 });
    });

    it('keeps the spelling of trade_type and accepts a quantity of decimal digits', async () => {
      const res = await placeOrder(c.frontend, { stock_name: 'Stock2', trade_type: 'Buy', quantity: '7' });
      expect(res.status).toBe(200);
      const order = await http(`${c.frontend}/orders?order_no=${res.body.order_no}`);
      expect(order.status).toBe(200);
      expect(order.body).toEqual({ data: { order_no: res.body.order_no, stock_name: 'Stock2', trade_type: 'Buy', quantity: 7 } });
    });

    it('parses a JSON body sent without a content type or as text/plain (the seed client)', async () => {
      const body = JSON.stringify({ stock_name: 'Stock2', trade_type: 'sell', quantity: 1 });
      for (const headers of [{}, { 'Content-Type': 'text/plain' }] as Record<string, string>[]) {
        const res = await fetch(`${c.frontend}/orders`, { method: 'POST', body, headers });
        expect(res.status).toBe(200);
        expect((await res.json()).order_no).toBeGreaterThan(0);
      }
    });

    it('refuses a buy of more shares than exist with 409 and changes nothing', async () => {
      const before = await catalogStock('Stock4');
      const res = await placeOrder(c.frontend, { stock_name: 'Stock4', trade_type: 'buy', quantity: 101 });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ order_no: -1, message: 'Trade failed!', reason: 'not enough shares' });
      expect(await catalogStock('Stock4')).toEqual(before);
    });

    it('refuses a sell past capacity with 409 and changes nothing', async () => {
      const before = await catalogStock('Stock5');
      expect(before.quantity).toBe(100);
      const res = await placeOrder(c.frontend, { stock_name: 'Stock5', trade_type: 'sell', quantity: 1 });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ order_no: -1, message: 'Trade failed!', reason: 'over capacity' });
      expect(await catalogStock('Stock5')).toEqual(before);
    });

    it('allows buying every share and selling back up to capacity exactly', async () => {
      expect((await placeOrder(c.frontend, { stock_name: 'Stock6', trade_type: 'buy', quantity: 100 })).status).toBe(200);
      expect((await stock('Stock6')).quantity).toBe(0);
      expect((await placeOrder(c.frontend, { stock_name: 'Stock6', trade_type: 'buy', quantity: 1 })).status).toBe(409);
      expect((await placeOrder(c.frontend, { stock_name: 'Stock6', trade_type: 'sell', quantity: 100 })).status).toBe(200);
      expect(await stock('Stock6')).toEqual({ ...initialStock(6), quantity: 100, trade_volume: 200 });
    });

    it('answers 404 for an unknown stock and gives it no number', async () => {
      const res = await placeOrder(c.frontend, { stock_name: 'Unknown', trade_type: 'buy', quantity: 1 });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ order_no: -1, message: 'Stock not found!' });
    });

    it('replays an Idempotency-Key: same outcome, the catalog moves once', async () => {
      const before = await catalogStock('Stock7');
      const key = `replay-${Date.now()}`;
      const a = await placeOrder(c.frontend, { stock_name: 'Stock7', trade_type: 'buy', quantity: 3 }, key);
      const b = await placeOrder(c.frontend, { stock_name: 'Stock7', trade_type: 'buy', quantity: 3 }, key);
      expect(a.status).toBe(200);
      expect(b.body).toEqual(a.body);
      expect((await catalogStock('Stock7')).quantity).toBe(before.quantity - 3);
      const refusedKey = `${key}-refused`;
      const r1 = await placeOrder(c.frontend, { stock_name: 'Stock7', trade_type: 'buy', quantity: 1000 }, refusedKey);
      const r2 = await placeOrder(c.frontend, { stock_name: 'Stock7', trade_type: 'buy', quantity: 1000 }, refusedKey);
      expect(r1.status).toBe(409);
      expect(r2.status).toBe(409); // same key, same outcome
      expect(r2.body).toEqual({ order_no: -1, message: 'Trade failed!', reason: 'not enough shares' });
      // The key is bound to its request: another quantity is refused 422 and does not trade either.
      const r3 = await placeOrder(c.frontend, { stock_name: 'Stock7', trade_type: 'buy', quantity: 1 }, refusedKey);
      expect(r3.status).toBe(422);
      expect(r3.body).toEqual({ order_no: -1, message: `Idempotency-Key ${refusedKey} was used for a different request` });
      expect((await catalogStock('Stock7')).quantity).toBe(before.quantity - 3);
    });

    it('numbers successful orders 1..N with no gaps, failed trades included in between', async () => {
      const orders = [];
      for (let n = 1; ; n++) {
        const r = await http(`${c.frontend}/orders?order_no=${n}`);
        if (r.status === 404) break;
        orders.push(r.body.data.order_no);
      }
      expect(orders).toEqual(orders.map((_, i) => i + 1));
      expect(orders.length).toBeGreaterThanOrEqual(6);
    });
  });

  describe('bad input gets a clear 4xx in the order shape and changes nothing', () => {
    const cases: { what: string; body?: string; headers?: Record<string, string> }[] = [
      { what: 'malformed JSON', body: '{"stock_name": "Stock8", ' },
      { what: 'a JSON array', body: '[1,2,3]' },
      { what: 'a JSON string', body: '"Stock8"' },
      { what: 'an empty body' },
      { what: 'a missing quantity', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy' }) },
      { what: 'a zero quantity', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: 0 }) },
      { what: 'a negative quantity', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: -5 }) },
      { what: 'a fractional quantity', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: 1.5 }) },
      { what: 'a huge quantity', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: 1e30 }) },
      { what: 'an unsafe integer quantity', body: '{"stock_name":"Stock8","trade_type":"buy","quantity":90071992547409930}' },
      { what: 'a quantity string with a sign', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: '-3' }) },
      { what: 'a quantity string with a fraction', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: '2.5' }) },
      { what: 'a boolean quantity', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: true }) },
      { what: 'an unknown trade type', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'hold', quantity: 1 }) },
      { what: 'a numeric trade type', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 1, quantity: 1 }) },
      { what: 'an object stock name', body: JSON.stringify({ stock_name: { $ne: 1 }, trade_type: 'buy', quantity: 1 }) },
      { what: 'a null stock name', body: JSON.stringify({ stock_name: null, trade_type: 'buy', quantity: 1 }) },
      { what: 'a bad Idempotency-Key', body: JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: 1 }), headers: { 'Idempotency-Key': 'has spaces in it' } },

    ];

    it.each(cases)('$what → 400', async ({ body, headers }) => {
      const before = await catalogStock('Stock8');
      const res = await http(`${c.frontend}/orders`, { method: 'POST', body, headers });
      expect(res.status).toBe(400);
      expect(res.body.order_no).toBe(-1);
      expect(typeof res.body.message).toBe('string');
      expect(res.body.message.length).toBeGreaterThan(0);
      expect(await catalogStock('Stock8')).toEqual(before);
    });

    it('says which: JSON that is no object, a body that does not decompress, a charset it cannot read (415); nothing changes', async () => {
      const before = await catalogStock('Stock8');
      const order = JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: 1 });
      const cases: [string, RequestInit, number, string][] = [
        ['null', { body: 'null' }, 400, 'request body must be a JSON object'],
        ['a number', { body: '1' }, 400, 'request body must be a JSON object'],
        ['gzip that is not', { body: order, headers: { 'content-encoding': 'gzip' } }, 400, 'request body could not be decompressed as its Content-Encoding says (incorrect header check)'],
        ['latin1', { body: order, headers: { 'content-type': 'application/json; charset=latin1' } }, 415, 'unsupported charset "LATIN1"'],
      ];
      for (const [what, init, status, message] of cases) {
        const res = await fetch(`${c.frontend}/orders`, { method: 'POST', ...init });
        expect({ what, status: res.status, body: await res.json() }).toEqual({ what, status, body: { order_no: -1, message } });
      }
      expect(await catalogStock('Stock8')).toEqual(before);
    });

    it('an oversized body → 413, nothing changes', async () => {
      const before = await catalogStock('Stock8');
      const body = JSON.stringify({ stock_name: 'Stock8', trade_type: 'buy', quantity: 1, pad: 'x'.repeat(200_000) });
      const res = await http(`${c.frontend}/orders`, { method: 'POST', body });
      expect(res.status).toBe(413);
      expect(await catalogStock('Stock8')).toEqual(before);
    });

    it('unknown routes → 404 in the error shape', async () => {
      for (const [method, path] of [['GET', '/nope'], ['DELETE', '/nope'], ['GET', '/orders/1']]) {
        const res = await http(`${c.frontend}${path}`, { method });
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe(404);
      }
    });

    it('a method a route does not have → 405 with Allow, in the route\'s error shape', async () => {
      const cases: [string, string, string, string][] = [
        [c.frontend, 'PUT', '/stocks', 'GET, HEAD'],
        [c.frontend, 'POST', '/Stocks/', 'GET, HEAD'],
        [c.frontend, 'DELETE', '/orders', 'GET, HEAD, POST'],
        [c.catalog, 'GET', '/trade', 'POST'],
        [c.replica(1), 'PUT', '/sync', 'POST'],
      ];
      for (const [base, method, path, allow] of cases) {
        const before = await catalogStock('Stock8');
        const res = await fetch(`${base}${path}`, { method, headers: c.internalHeaders });
        expect({ path, method, status: res.status, allow: res.headers.get('allow') }).toEqual({ path, method, status: 405, allow });
        const body = await res.json();
        const message = expect.stringContaining(method);
        if (path === '/orders') expect(body).toEqual({ order_no: -1, message });
        else if (path === '/trade' || path === '/sync') expect(body).toEqual({ message });
        else expect(body).toEqual({ error: { code: 405, message } });
        expect(await catalogStock('Stock8')).toEqual(before);
      }
    });
  });

  describe('GET /orders', () => {
    it('answers 404 in the error shape for a number never given', async () => {
      const res = await http(`${c.frontend}/orders?order_no=99999`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 404, message: 'order not found' } });
    });

    it('reads every safe integer as an order number: 16 digits are a 404, not a 400, and 2^53 is too large', async () => {
      // Digit strings of 16 digits and more were refused as malformed.
      for (const n of ['1000000000000000', '9007199254740991', '00000000000000099999']) {
        expect(await http(`${c.frontend}/orders?order_no=${n}`)).toMatchObject({ status: 404, body: { error: { code: 404, message: 'order not found' } } });
      }
      expect(await http(`${c.frontend}/orders?order_no=9007199254740992`)).toMatchObject({ status: 400, body: { error: { code: 400, message: 'order_no is too large' } } });
    });

    it.each(['', '?order_no=abc', '?order_no=0', '?order_no=-1', '?order_no=1.5', '?order_no=99999999999999999999'])(
      'answers 400 for %s',
      async (query) => {
        const res = await http(`${c.frontend}/orders${query}`);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe(400);
      },
    );
  });

  describe('GET /leader and the cache endpoints', () => {
    it('names the highest-id ready replica as leader, with its epoch and address', async () => {
      const res = await http(`${c.frontend}/leader`);
      expect(res.status).toBe(200);
      expect(res.body.leader).toBe(3);
      expect(res.body.epoch).toBeGreaterThanOrEqual(1);
      expect(res.body.address).toBe(c.replica(3));
      expect(res.body.replicas.map((r: { id: number }) => r.id)).toEqual([1, 2, 3]);
    });

    it('GET /rm answers the seed texts', async () => {
      await stock('Stock9');
      expect((await c.internal(`${c.frontend}/rm?stock_name=Stock9`)).body).toEqual({ stock_name: 'Stock9', message: 'removed successfully' });
      expect((await c.internal(`${c.frontend}/rm?stock_name=Stock9`)).body).toEqual({ message: "this stock isn't exist in cache" });
    });

    it('POST /rm drops several stocks at once (the catalog\'s batched push) and refuses a malformed list', async () => {
      await stock('Stock9');
      const res = await c.internal(`${c.frontend}/rm`, { body: { stock_names: ['Stock9', 'Stock8'] } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ removed: ['Stock9'], not_cached: ['Stock8'] });
      const volumed = await c.internal(`${c.frontend}/rm`, { body: { stock_names: ['Stock9', 'Stock8'], trade_volumes: [7, 0] } });
      expect(volumed.status).toBe(200);
      expect(volumed.body).toEqual({ removed: [], not_cached: ['Stock9', 'Stock8'] });
      for (const body of [
        { stock_names: [] },
        { stock_names: ['bad name'] },
        { stock_names: 'Stock1' },
        {},
        { stock_names: ['Stock1'], trade_volumes: [1, 2] },
        { stock_names: ['Stock1', 'Stock2'], trade_volumes: [1] },
        { stock_names: ['Stock1'], trade_volumes: [-1] },
        { stock_names: ['Stock1'], trade_volumes: [1.5] },
        { stock_names: ['Stock1'], trade_volumes: ['3'] },
        { stock_names: ['Stock1'], trade_volumes: 3 },
      ]) {
        const bad = await c.internal(`${c.frontend}/rm`, { body });
        expect({ body, status: bad.status }).toEqual({ body, status: 400 });
        expect(bad.body.error.code).toBe(400);
      }
    });

    it("caches a trade's stock from its answer: the lookup after the trade is a hit that shows it", async () => {
      await stock('Stock4'); // a first lookup: until then the cache cannot tell how new an answer is
      const before = (await http(`${c.frontend}/cache/stats`)).body;
      const placed = await placeOrder(c.frontend, { stock_name: 'Stock4', trade_type: 'buy', quantity: 2 });
      expect(placed.status).toBe(200);
      const afterTrade = (await http(`${c.frontend}/cache/stats`)).body;
      expect(afterTrade.offers_taken).toBe(before.offers_taken + 1);
      const seen = await stock('Stock4');
      expect(seen).toEqual(await catalogStock('Stock4'));
      const after = (await http(`${c.frontend}/cache/stats`)).body;
      expect({ hits: after.hits - afterTrade.hits, misses: after.misses - afterTrade.misses }).toEqual({ hits: 1, misses: 0 });
    });

    it('counts hits, misses and invalidations', async () => {
      const before = (await http(`${c.frontend}/cache/stats`)).body;
      await stock('Stock10');
      await stock('Stock10');
      const after = (await http(`${c.frontend}/cache/stats`)).body;
      expect(after.enabled).toBe(true);
      expect(after.hits).toBeGreaterThan(before.hits);
      expect(after.invalidations).toBeGreaterThan(0);
    });
  });

  describe('catalog internal API (seed forms)', () => {
    it('GET /query answers {"data":…} or the 404 error', async () => {
      expect((await c.internal(`${c.catalog}/query?stock_name=Stock10`)).body.data.stock_name).toBe('Stock10');
      const miss = await c.internal(`${c.catalog}/query?stock_name=Zzz`);
      expect(miss.status).toBe(404);
      expect(miss.body).toEqual({ error: { code: 404, message: 'Stock not found' } });
    });

    it('POST /trade answers the seed messages, and a repeated request id trades once', async () => {
      const before = await catalogStock('Stock10');
      const body = { stock_name: 'Stock10', type: 'buy', quantity: 2, request_id: `direct-${Date.now()}` };
      directlyApplied.push(body.request_id);
      const ok = await c.internal(`${c.catalog}/trade`, { body });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ message: 'order had been trade successfully!' });
      expect((await c.internal(`${c.catalog}/trade`, { body })).body).toEqual(ok.body);
      expect((await catalogStock('Stock10')).quantity).toBe(before.quantity - 2);
      const missing = await c.internal(`${c.catalog}/trade`, { body: { stock_name: 'Zzz', type: 'buy', quantity: 1 } });
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ message: 'Stock not found!' });
      const refused = await c.internal(`${c.catalog}/trade`, { body: { stock_name: 'Stock10', type: 'buy', quantity: 999 } });
      expect(refused.status).toBe(409);
      expect(refused.body).toEqual({ message: 'Trade failed!', reason: 'not enough shares' });
      const full = await c.internal(`${c.catalog}/trade`, { body: { stock_name: 'Stock10', type: 'sell', quantity: 999 } });
      expect(full.status).toBe(409);
      expect(full.body).toEqual({ message: 'Trade failed!', reason: 'over capacity' });
      const bad = await c.internal(`${c.catalog}/trade`, { body: { stock_name: 'Stock10', type: 'buy', quantity: 0 } });
      expect(bad.status).toBe(400);
      expect(typeof bad.body.message).toBe('string');
    });
  });

  describe('internal batches (the group commit of concurrent trades)', () => {
    it('catalog POST /trade/batch decides each trade in order, with the outcome POST /trade would give it', async () => {
      const before = await catalogStock('Stock8');
      const [a, b, c2] = ['a', 'b', 'c'].map((n) => `batch-${n}-${Date.now()}`);
      directlyApplied.push(a, c2);
      const trades = [
        { stock_name: 'Stock8', type: 'buy', quantity: 3, request_id: a },
        { stock_name: 'Stock8', type: 'buy', quantity: 999, request_id: b },
        { stock_name: 'Zzz', type: 'buy', quantity: 1, request_id: `batch-z-${Date.now()}` },
        { stock_name: 'Stock8', type: 'Sell', quantity: 1, request_id: c2 },
        { stock_name: 'Stock8', type: 'buy', quantity: 3, request_id: a }, // the same id again: a replay
      ];
      const res = await c.internal(`${c.catalog}/trade/batch`, { body: { trades } });
      expect(res.status).toBe(200);
      const after = await catalogStock('Stock8');
      // Each success carries its stock as the catalog committed it: here, after the whole batch.
      const traded = { status: 200, message: 'order had been trade successfully!', stock: after };
      expect(res.body).toEqual({
        results: [
          traded,
          { status: 409, message: 'Trade failed!', reason: 'not enough shares' },
          { status: 404, message: 'Stock not found!' },
          traded,
          traded,
        ],
      });
      expect(after.quantity).toBe(before.quantity - 3 + 1);
      expect(after.trade_volume).toBe(before.trade_volume + 3 + 1);
      // Sent again: every outcome replayed, nothing moves.
      expect((await c.internal(`${c.catalog}/trade/batch`, { body: { trades } })).body).toEqual(res.body);
      expect(await catalogStock('Stock8')).toEqual(after);
    });

    it('catalog POST /trade/batch refuses a batch with one malformed trade, an empty one or too many, and trades none of it', async () => {
      const before = await catalogStock('Stock8');
      const good = { stock_name: 'Stock8', type: 'buy', quantity: 1, request_id: `batch-never-${Date.now()}` };
      for (const trades of [[good, { ...good, quantity: 0 }], [], Array(129).fill(good), 'x']) {
        const res = await c.internal(`${c.catalog}/trade/batch`, { body: { trades } });
        expect(res.status).toBe(400);
        expect(typeof res.body.message).toBe('string');
      }
      expect(await catalogStock('Stock8')).toEqual(before);
    });

    it("a replica's POST /trade/batch places each trade as GET /trade would, and refuses a stale epoch per trade", async () => {
      const leader = await c.leaderId();
      const { epoch } = (await http(`${c.frontend}/leader`)).body;
      const key = `leader-batch-${Date.now()}`;
      const trades = [
        { stock_name: 'Stock7', trade_type: 'buy', quantity: 1, request_id: key },
        { stock_name: 'Zzz', trade_type: 'buy', quantity: 1, request_id: `${key}-z` },
      ];
      const res = await c.internal(`${c.replica(leader)}/trade/batch`, { body: { epoch, trades } });
      expect(res.status).toBe(200);
      // With the stock as the catalog answered the leader, for the front end's cache.
      expect(res.body.results[0]).toEqual({ status: 200, order_no: expect.any(Number), stock: expect.objectContaining({ stock_name: 'Stock7' }) });
      expect(res.body.results[1]).toEqual({ status: 404, message: 'Stock not found!' });
      const order = (await http(`${c.frontend}/orders?order_no=${res.body.results[0].order_no}`)).body;
      expect(order).toEqual({ data: { order_no: res.body.results[0].order_no, stock_name: 'Stock7', trade_type: 'buy', quantity: 1 } });
      const stale = await c.internal(`${c.replica(leader)}/trade/batch`, { body: { epoch: epoch - 1, trades } });
      expect(stale.status).toBe(200);
      for (const r of stale.body.results) expect(r).toMatchObject({ status: 503, code: 'stale_epoch' });
      const invalid = await c.internal(`${c.replica(leader)}/trade/batch`, { body: { epoch, trades: [{ ...trades[0], request_id: undefined }] } });
      expect(invalid.status).toBe(400);
      expect(invalid.body).toMatchObject({ order_no: -1 });
    });
  });

  it('serves Swagger UI on every server app', async () => {
    for (const url of [c.frontend, c.catalog, c.replica(1)]) {
      const res = await http(`${url}/docs`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('swagger');
    }
  });

  it('tells browsers not to guess a type (nosniff) on every answer of every server app: JSON, errors, HTML', async () => {
    const cases: [string, string, number][] = [
      [c.frontend, '/stocks?stock_name=Stock1', 200],
      [c.frontend, '/stocks?stock_name=%3Cscript%3E', 400],
      [c.frontend, '/stocks?stock_name=Nope', 404],
      [c.frontend, '/stocks', 400],
      [c.frontend, '/nope', 404],
      [c.frontend, '/status', 200],
      [c.frontend, '/docs', 200],
      [c.catalog, '/query?stock_name=Stock1', 200],
      [c.replica(1), '/ping', 200],
    ];
    for (const [base, path, status] of cases) {
      const res = await fetch(`${base}${path}`, { headers: c.internalHeaders });
      await res.arrayBuffer();
      expect({ path, status: res.status, nosniff: res.headers.get('x-content-type-options') }).toEqual({ path, status, nosniff: 'nosniff' });
    }
  });

  it('the order log matches the catalog: quantity and volume per stock follow from the orders', async () => {
    // The trades made at the catalog directly above are recorded by the leader's reconciliation.
    await waitFor('the direct catalog trades in the order log', async () => {
      const log = await c.orderTable(await c.leaderId());
      return directlyApplied.every((id) => log.some((o) => o.request_id === id));
    }, 20000);
    await expectCatalogMatchesLog(c, await c.converged());
  });
});
