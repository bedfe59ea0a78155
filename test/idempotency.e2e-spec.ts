import { MIN_IDEMPOTENCY_RETENTION_MS } from '@app/contracts/idempotency';
import { Cluster, http, waitFor } from './support/cluster';
import { expectCatalogMatchesLog } from './support/load';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The `Idempotency-Key` header: a key is bound to its request for its retention
 * window (422 for another request, nothing traded, at the front end and at the catalog), every
 * trade answer echoes the key in an `Idempotency-Key` header, and keys past their window are
 * forgotten by a bounded cleanup that never forgets one inside it.
 *
 * The cluster runs with the shortest retention allowed (RETENTION_MS, one minute: twice the
 * longest a front end may retry a trade) and a fast cleanup, so the window can be seen to close;
 * every step that relies on a key being remembered runs well inside it.
 */
const RETENTION_MS = MIN_IDEMPOTENCY_RETENTION_MS;

describe('idempotency keys bound to their request', () => {
  let c: Cluster;

  beforeAll(async () => {
    const retention = { IDEMPOTENCY_RETENTION_MS: String(RETENTION_MS) };
    c = await Cluster.start({
      envFor: {
        catalog: { ...retention, IDEMPOTENCY_CLEANUP_INTERVAL_MS: '200', IDEMPOTENCY_CLEANUP_BATCH: '2' },
        'order-1': retention,
        'order-2': retention,
        'order-3': retention,
      },
    });
  });
  afterAll(() => c?.stop());

  /** `POST /orders` with fetch, to see the response headers. */
  const post = async (body: object, key?: string) => {
    const res = await fetch(`${c.frontend}/orders`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: key === undefined ? {} : { 'Idempotency-Key': key },
      signal: AbortSignal.timeout(30000),
    });
    return { status: res.status, key: res.headers.get('idempotency-key'), body: (await res.json()) as { order_no: number; message?: string; reason?: string } };
  };
  const catalogStock = async (name: string) => (await c.internal(`${c.catalog}/query?stock_name=${name}`)).body.data;
  const lastOrderNo = async () => {
    const log = await c.orderTable(await c.leaderId());
    return log.length === 0 ? 0 : log[log.length - 1].order_no;
  };
  const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  describe('POST /orders', () => {
    it('echoes the client\'s key on a 200, a 404 and a 409', async () => {
      const key = unique('echo');
      const ok = await post({ stock_name: 'Stock1', trade_type: 'buy', quantity: 1 }, key);
      expect(ok).toEqual({ status: 200, key, body: { order_no: expect.any(Number) } });
      const missing = await post({ stock_name: 'Nope', trade_type: 'buy', quantity: 1 }, `${key}-404`);
      expect(missing).toEqual({ status: 404, key: `${key}-404`, body: { order_no: -1, message: 'Stock not found!' } });
      const refused = await post({ stock_name: 'Stock1', trade_type: 'buy', quantity: 100_000 }, `${key}-409`);
      expect(refused.status).toBe(409);
      expect(refused.key).toBe(`${key}-409`);
    });

    it('binds a key to its request after a 404 too: the same request gets the 404 again, another one 422 and trades nothing', async () => {
      const key = unique('unknown');
      const before = await catalogStock('Stock4');
      const missing = { status: 404, key, body: { order_no: -1, message: 'Stock not found!' } };
      expect(await post({ stock_name: 'Nope', trade_type: 'buy', quantity: 1 }, key)).toEqual(missing);
      expect(await post({ stock_name: 'Nope', trade_type: 'buy', quantity: 1 }, key)).toEqual(missing);
      const reused = await post({ stock_name: 'Stock4', trade_type: 'buy', quantity: 1 }, key);
      expect(reused.status).toBe(422);
      expect(reused.body.order_no).toBe(-1);
      expect(await catalogStock('Stock4')).toEqual(before);
    });

    it('makes up a key when the client sent none, echoes it, and a retry with it gets the same order_no', async () => {
      const before = await catalogStock('Stock2');
      const first = await post({ stock_name: 'Stock2', trade_type: 'buy', quantity: 2 });
      expect(first.status).toBe(200);
      expect(first.key).toMatch(/^[\x21-\x7E]{1,128}$/);
      const retry = await post({ stock_name: 'Stock2', trade_type: 'buy', quantity: 2 }, first.key as string);
      expect(retry).toEqual(first);
      expect(await catalogStock('Stock2')).toEqual({ ...before, quantity: before.quantity - 2, trade_volume: before.trade_volume + 2 });
      // Each request without a key gets its own.
      const other = await post({ stock_name: 'Stock2', trade_type: 'buy', quantity: 2 });
      expect(other.key).not.toBe(first.key);
      expect(other.body.order_no).toBe(first.body.order_no + 1);
    });

    it('echoes the key on a 400 for the body too: the one sent, or one made up', async () => {
      const key = unique('bad-body');
      const last = await lastOrderNo();
      const sent = await post({ stock_name: 'Stock1', trade_type: 'buy', quantity: 0 }, key);
      expect(sent).toEqual({ status: 400, key, body: { order_no: -1, message: expect.stringContaining('quantity') } });
      const made = await post({ stock_name: 'Stock1', trade_type: 'hold', quantity: 1 });
      expect(made.status).toBe(400);
      expect(made.key).toMatch(/^[\x21-\x7E]{1,128}$/);
      expect(await lastOrderNo()).toBe(last);
    });

    it('echoes the key on answers given before the route runs: JSON that does not parse (400), a body over the limit (413)', async () => {
      const last = await lastOrderNo();
      const raw = async (body: string, key: string) => {
        const res = await fetch(`${c.frontend}/orders`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
          signal: AbortSignal.timeout(30000),
        });
        return { status: res.status, key: res.headers.get('idempotency-key'), body: (await res.json()) as { order_no: number; message: string } };
      };
      const parse = unique('unparsed');
      expect(await raw('{"stock_name":', parse)).toEqual({ status: 400, key: parse, body: { order_no: -1, message: 'request body is not valid JSON' } });
      const large = unique('too-large');
      const big = await raw(JSON.stringify({ stock_name: 'Stock1', trade_type: 'buy', quantity: 1, pad: 'x'.repeat(70_000) }), large);
      expect(big).toEqual({ status: 413, key: large, body: { order_no: -1, message: expect.stringContaining('too large') } });
      expect(await lastOrderNo()).toBe(last);
    });

    it('does not echo a malformed key (400), nor one in the form of an id the leader derives for a reused key', async () => {
      const res = await post({ stock_name: 'Stock1', trade_type: 'buy', quantity: 1 }, 'has spaces in it');
      expect(res.status).toBe(400);
      expect(res.key).toBeNull();
      const before = await catalogStock('Stock1');
      const reserved = await post({ stock_name: 'Stock1', trade_type: 'buy', quantity: 1 }, `reuse-${'0'.repeat(64)}`);
      expect(reserved.status).toBe(400);
      expect(reserved.body.message).toMatch(/not starting with reuse-/);
      expect(await catalogStock('Stock1')).toEqual(before);
    });

    it('answers 422 to a key reused for another trade, and trades nothing', async () => {
      const key = unique('repeat');
      const first = await post({ stock_name: 'Stock3', trade_type: 'buy', quantity: 3 }, key);
      expect(first.status).toBe(200);
      const stock3 = await catalogStock('Stock3');
      const stock4 = await catalogStock('Stock4');
      const last = await lastOrderNo();
      for (const other of [
        { stock_name: 'Stock4', trade_type: 'buy', quantity: 3 },
        { stock_name: 'Stock3', trade_type: 'sell', quantity: 3 },
        { stock_name: 'Stock3', trade_type: 'buy', quantity: 4 },
      ]) {
        const res = await post(other, key);
        expect(res).toEqual({ status: 422, key, body: { order_no: -1, message: `Idempotency-Key ${key} was used for a different request` } });
      }
      expect(await catalogStock('Stock3')).toEqual(stock3);
      expect(await catalogStock('Stock4')).toEqual(stock4);
      expect(await lastOrderNo()).toBe(last);
      expect((await http(`${c.frontend}/orders?order_no=${last + 1}`)).status).toBe(404);
      // The side in another letter case and the quantity as digits are the same request: a replay.
      const same = await post({ stock_name: 'Stock3', trade_type: 'BUY', quantity: '3' }, key);
      expect(same).toEqual(first);
      expect(await catalogStock('Stock3')).toEqual(stock3);
    });

    it('answers 422 to a key first refused (409) and then reused for another trade', async () => {
      const key = unique('refused');
      const stock5 = await catalogStock('Stock5');
      expect((await post({ stock_name: 'Stock5', trade_type: 'buy', quantity: 1000 }, key)).status).toBe(409);
      const reused = await post({ stock_name: 'Stock5', trade_type: 'buy', quantity: 1 }, key);
      expect(reused.status).toBe(422);
      const replay = await post({ stock_name: 'Stock5', trade_type: 'Buy', quantity: 1000 }, key);
      expect(replay).toEqual({ status: 409, key, body: { order_no: -1, message: 'Trade failed!', reason: 'not enough shares' } });
      expect(await catalogStock('Stock5')).toEqual(stock5);
    });
  });

  describe('the catalog\'s internal routes', () => {
    it('POST /trade answers 422 with code key_reused to a request_id reused for another trade, and trades nothing', async () => {
      const id = unique('cat');
      const trade = { stock_name: 'Stock6', type: 'buy', quantity: 2, request_id: id };
      expect((await c.internal(`${c.catalog}/trade`, { body: trade })).status).toBe(200);
      const after = await catalogStock('Stock6');
      const res = await c.internal(`${c.catalog}/trade`, { body: { ...trade, quantity: 5 } });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ message: `Idempotency-Key ${id} was used for a different request`, code: 'key_reused' });
      expect((await c.internal(`${c.catalog}/trade`, { body: { ...trade, type: 'BUY' } })).status).toBe(200); // same request
      expect(await catalogStock('Stock6')).toEqual(after);
    });

    it('POST /trade/batch gives the reused id its own 422, the others their outcomes', async () => {
      const id = unique('catb');
      const fresh = unique('catb-fresh');
      const res = await c.internal(`${c.catalog}/trade/batch`, {
        body: {
          trades: [
            { stock_name: 'Stock6', type: 'sell', quantity: 1, request_id: id },
            { stock_name: 'Stock6', type: 'sell', quantity: 2, request_id: id }, // the same id, another trade, in the same batch
            { stock_name: 'Stock6', type: 'sell', quantity: 1, request_id: fresh },
          ],
        },
      });
      const traded = { status: 200, message: 'order had been trade successfully!', stock: await catalogStock('Stock6') }; // as committed after the batch
      expect(res.body.results).toEqual([
        traded,
        { status: 422, message: `Idempotency-Key ${id} was used for a different request`, code: 'key_reused' },
        traded,
      ]);
    });
  });

  describe('retention', () => {
    it('never forgets a key inside its window, forgets it after, and the reused key is then a new trade', async () => {
      const key = unique('window');
      const first = await post({ stock_name: 'Stock7', trade_type: 'buy', quantity: 1 }, key);
      expect(first.status).toBe(200);
      const started = Date.now();
      // Inside the window, while the cleanup runs every 200 ms: replayed, and refused for another trade.
      while (Date.now() - started < RETENTION_MS / 2) {
        expect(await post({ stock_name: 'Stock7', trade_type: 'buy', quantity: 1 }, key)).toEqual(first);
        expect((await post({ stock_name: 'Stock7', trade_type: 'buy', quantity: 2 }, key)).status).toBe(422);
        const trade = { stock_name: 'Stock7', type: 'buy', quantity: 1, request_id: key };
        expect((await c.internal(`${c.catalog}/trade`, { body: { ...trade, quantity: 9 } })).status).toBe(422); // the catalog still has it
        await delay(1000);
      }
      // Past the window the catalog forgets the record (its applied trades no longer list it) …
      await waitFor('the catalog to forget the key', async () => {
        const { trades } = (await c.internal(`${c.catalog}/trades?after=0&limit=1000`)).body as { trades: { request_id: string }[] };
        return trades.every((t) => t.request_id !== key) || undefined;
      }, RETENTION_MS * 2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(RETENTION_MS - 1000);
      // The log's window started a moment after the catalog's (when the order was appended).
      await delay(500);
      // … and the key names a new trade: another order, the catalog moves, retries replay it.
      const before = await catalogStock('Stock7');
      const again = await post({ stock_name: 'Stock7', trade_type: 'buy', quantity: 2 }, key);
      expect(again.status).toBe(200);
      expect(again.body.order_no).toBeGreaterThan(first.body.order_no);
      const moved = { ...before, quantity: before.quantity - 2, trade_volume: before.trade_volume + 2 };
      expect(await catalogStock('Stock7')).toEqual(moved);
      expect(await post({ stock_name: 'Stock7', trade_type: 'Buy', quantity: 2 }, key)).toEqual(again);
      expect((await post({ stock_name: 'Stock7', trade_type: 'buy', quantity: 1 }, key)).status).toBe(422); // bound to its new request
      expect(await catalogStock('Stock7')).toEqual(moved);
      // The first order keeps what it was.
      expect((await http(`${c.frontend}/orders?order_no=${first.body.order_no}`)).body.data).toMatchObject({ stock_name: 'Stock7', trade_type: 'buy', quantity: 1 });
    }, RETENTION_MS * 4);

    it('the catalog and the log still agree, and every replica holds the same log', async () => {
      // Trades applied at the catalog directly above: reconciliation logs them.
      const log = await waitFor('reconciliation of the direct trades', async () => {
        const table = await c.converged();
        return table.some((o) => o.request_id.startsWith('catb-fresh')) ? table : undefined;
      }, 20000);
      await expectCatalogMatchesLog(c, log);
      const ids = log.map((o) => o.request_id);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });
});
