import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { join } from 'node:path';
import { Database } from 'sqlite3';
import { Cluster, freePort, http, HttpResult, OrderRow, placeOrder, sleep, waitFor } from './support/cluster';
import { expectCatalogMatchesLog } from './support/load';

/**
 * Graceful shutdown on real processes. SIGTERM must make a server stop accepting connections,
 * finish the requests in flight, stop its workers and close SQLite cleanly, and exit 0:
 *
 * 1. A trade in flight at the order LEADER when it gets SIGTERM (held at the leader's catalog call
 *    by a delaying proxy) is still answered 200, while the leader already refuses new connections;
 *    the order is on a majority of replicas; the leader exits 0 with a checkpointed database.
 * 2. The same for a trade in flight at the FRONT END when it gets SIGTERM.
 * 3. Under load, SIGTERM of the leader and then of the front end. "Never acknowledged" with
 *    failover means: a client that got no answer may still have traded (the catalog moved, and the
 *    order was recorded by a retry or by reconciliation), so every unanswered order is retried with
 *    its Idempotency-Key until definite. The strict property: every 200 a client got (first try
 *    or retry) names an order present on a majority of replicas with the fields sent; a key is
 *    in the log at most once and a retry returns its number; the catalog equals what the log
 *    implies. With the front end up, the leader's SIGTERM is invisible to clients (no error).
 * 4. The catalog exits 0 on SIGTERM and leaves a clean database.
 * 5. Lookups riding out a catalog outage (crashed, or paused) at a front end that gets SIGTERM are
 *    answered 503 at once (a client with another front end asks it), and the front end's drain
 *    does not wait for them.
 */
const REPLICAS = [1, 2, 3];

/** An HTTP proxy to the catalog that holds every request for `delayMs` before forwarding it. */
class HoldingProxy {
  delayMs = 0;
  /** Trades (`POST /trade`, `/trade/batch`) being held or forwarded right now — not the reconciler's `GET /trades`. */
  pendingTrades = 0;
  private server?: Server;

  constructor(private readonly target: () => string | undefined) {}

  async start(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const trade = req.method === 'POST';
      if (trade) this.pendingTrades++;
      const done = () => {
        if (trade) this.pendingTrades--;
      };
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', async () => {
        await sleep(this.delayMs);
        const target = this.target();
        if (!target) {
          // The cluster is still starting (its catalog address is not known here yet): a refusal the replicas retry.
          done();
          res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"message":"catalog proxy not ready"}');
          return;
        }
        const url = new URL(req.url ?? '/', target);
        const up = request(url, { method: req.method, headers: { ...req.headers, host: url.host }, timeout: 10000 }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
          r.on('end', done);
        });
        up.on('error', () => {
          done();
          res.destroy();
        });
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
  }

  stop(): Promise<void> {
    return new Promise((r) => {
      if (!this.server) return r();
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }
}

let c: Cluster;
/** The catalog's port, picked before the cluster starts: the leader's promotion already reaches the catalog through the proxy. */
let catalogPort: number | undefined;
const proxy = new HoldingProxy(() => (catalogPort ? `http://127.0.0.1:${catalogPort}` : undefined));

/** A request to an internal endpoint (catalog, order replicas), with the cluster token. */
function internal(url: string, init: Parameters<typeof http>[1] = {}): Promise<HttpResult> {
  return c.internal(url, init);
}

/** True once nothing accepts a new connection at `url` (the server closed its listening socket). */
async function refusesConnections(url: string): Promise<boolean> {
  try {
    await internal(url, { timeoutMs: 1000 });
    return false;
  } catch (e) {
    return /ECONNREFUSED/.test(String((e as { cause?: unknown }).cause ?? e));
  }
}

/** After a clean close SQLite has checkpointed the WAL: no -wal content left, and the file checks out. */
async function expectCleanDatabase(file: string): Promise<void> {
  const wal = `${file}-wal`;
  expect({ file, walBytes: existsSync(wal) ? statSync(wal).size : 0 }).toEqual({ file, walBytes: 0 });
  const result = await new Promise<string>((resolve, reject) => {
    const db = new Database(file, (err) => {
      if (err) return reject(err);
      db.get('PRAGMA integrity_check', (e, row: { integrity_check: string }) => {
        db.close();
        if (e) reject(e);
        else resolve(row.integrity_check);
      });
    });
  });
  expect(result).toBe('ok');
}

/** The front end's lookups that went to the catalog so far: one per try (`bazaar_cache_misses_total`). */
async function catalogTries(): Promise<number> {
  const text = (await http(`${c.frontend}/metrics`)).text;
  const m = /^bazaar_cache_misses_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!m) throw new Error(`no bazaar_cache_misses_total in the front end's metrics:\n${text.slice(0, 500)}`);
  return Number(m[1]);
}

/**
 * With the catalog out (`stopCatalog`), 12 lookups of stocks the front end's cache does not hold
 * (more than an AbortSignal's default 10 listeners); once each has begun its first retry (its
 * first try failed: refused at once, or timed out after 8 s), SIGTERM of the front end. Each
 * lookup is answered 503 at once, naming why it was retrying and that this front end is shutting
 * down (a client with another asks that one); the front end exits 0 without waiting for them (its
 * drain would cut them after SHUTDOWN_TIMEOUT_MS, with no answer).
 */
async function lookupsAtShutdown(stopCatalog: () => Promise<void>): Promise<void> {
  expect((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status).toBe(200); // the front end holds a lease
  const logFrom = c.log('frontend').length;
  const triesBefore = await catalogTries();
  await stopCatalog();
  const lookups = Array.from({ length: 12 }, (_, i) =>
    http(`${c.frontend}/stocks?stock_name=Stock${i + 2}`, { timeoutMs: 60000 }).then(
      (r) => ({ status: r.status, message: String(r.body?.error?.message) }),
      (e: Error) => ({ status: 0, message: String((e as { cause?: unknown }).cause ?? e) }),
    ),
  );
  // Each lookup's first try, and each one's first retry (a try counts as it begins).
  await waitFor('every lookup retrying', async () => (await catalogTries()) >= triesBefore + 24, 30000);
  await terminate('frontend');
  const answers = await Promise.all(lookups);
  for (const a of answers) expect(a).toEqual({ status: 503, message: expect.stringMatching(/^catalog unreachable: .*; this front end is shutting down: ask another$/) });
  // The front end's output reaches its log file after it: wait for its last line.
  const tail = () => c.log('frontend').slice(logFrom);
  await waitFor("the front end's last line", async () => /"context":"Shutdown","msg":"stopped"/.test(tail()), 10000);
  const log = tail();
  expect(log).toMatch(/draining 12 request\(s\) in flight/);
  expect(log).not.toMatch(/still open after/);
  expect(log).not.toMatch(/MaxListenersExceededWarning/);
  // Giving up because of the drain is not the catalog out of reach.
  expect(log).not.toMatch(/has not answered a lookup/);
}

/** SIGTERM, wait for the exit (Cluster.signal SIGKILLs after 15 s), and require exit code 0. */
async function terminate(name: string): Promise<void> {
  await c.signal(name, 'SIGTERM');
  expect({ name, exit: c.exitStatus(name) }).toEqual({ name, exit: { code: 0, signal: null } });
}

interface Sent {
  key: string;
  order: { stock_name: string; trade_type: string; quantity: number };
  status: number; // 0: no answer (connection refused, reset, timeout)
  order_no?: number;
  at: number;
}

/** Every acknowledged order is on a majority of the replicas, with the fields the client sent. */
async function expectOnMajority(acked: Sent[]): Promise<void> {
  const tables = await Promise.all(REPLICAS.map((id) => c.orderTable(id)));
  for (const a of acked) {
    const holders = tables.filter((t) => t.some((r) => r.order_no === a.order_no && r.request_id === a.key &&
      r.stock_name === a.order.stock_name && r.trade_type === a.order.trade_type && r.quantity === a.order.quantity));
    expect({ key: a.key, order_no: a.order_no, replicas: holders.length >= 2 }).toEqual({ key: a.key, order_no: a.order_no, replicas: true });
  }
}

describe('graceful shutdown on SIGTERM', () => {
  beforeAll(async () => {
    const proxyPort = await freePort();
    catalogPort = await freePort();
    await proxy.start(proxyPort);
    // The replicas reach the catalog through the proxy, so a trade can be held in flight at will.
    c = await Cluster.start({ env: {}, ports: { catalog: catalogPort }, envFor: Object.fromEntries(REPLICAS.map((id) => [`order-${id}`, { CATALOG_URL: `http://127.0.0.1:${proxyPort}` }])) });
  }, 120000);

  afterAll(async () => {
    await c?.stop();
    await proxy.stop();
  });

  it('a trade in flight at the order leader is answered while the leader refuses new connections; it exits 0', async () => {
    const leader = await c.leaderId();
    const order = { stock_name: 'Stock1', trade_type: 'buy', quantity: 2 };
    const key = `inflight-leader-${randomUUID()}`;
    proxy.delayMs = 1500;
    const answer = placeOrder(c.frontend, order, key);
    await waitFor('the trade held at the catalog proxy', async () => proxy.pendingTrades > 0, 10000);
    const exited = terminate(`order-${leader}`);
    await waitFor(`order-${leader} refusing new connections`, () => refusesConnections(`${c.replica(leader)}/ping`), 5000);
    expect(c.isRunning(`order-${leader}`)).toBe(true); // still draining the trade
    const res = await answer;
    proxy.delayMs = 0;
    expect(res.status).toBe(200);
    await exited;
    await expectCleanDatabase(join(c.dataDir, `order-${leader}.sqlite`));
    // On a majority, under the acknowledged number. (The draining leader may have finished the
    // trade itself, or — once the front end elected a successor because the old leader refused
    // its pings — the successor did, on the retry with the same key: either way, once.)
    await expectOnMajority([{ key, order, status: 200, order_no: res.body.order_no, at: 0 }]);
    await c.startReplica(leader);
    await c.waitReady(leader);
  });

  it('a trade in flight at the front end is answered while it refuses new connections; it exits 0', async () => {
    const order = { stock_name: 'Stock2', trade_type: 'SELL', quantity: 0 + 1 };
    await placeOrder(c.frontend, { stock_name: 'Stock2', trade_type: 'buy', quantity: 5 }); // room to sell
    const key = `inflight-frontend-${randomUUID()}`;
    proxy.delayMs = 1500;
    const answer = placeOrder(c.frontend, order, key);
    await waitFor('the trade held at the catalog proxy', async () => proxy.pendingTrades > 0, 10000);
    const exited = terminate('frontend');
    await waitFor('the front end refusing new connections', () => refusesConnections(`${c.frontend}/leader`), 5000);
    const res = await answer;
    proxy.delayMs = 0;
    expect(res.status).toBe(200);
    await exited;
    await c.startFrontend();
    await expectOnMajority([{ key, order, status: 200, order_no: res.body.order_no, at: 0 }]);
    const read = await http(`${c.frontend}/orders?order_no=${res.body.order_no}`);
    expect(read.body).toEqual({ data: { order_no: res.body.order_no, ...order } });
  });

  it('under load, SIGTERM of the leader and then of the front end: every 200 is on a majority, retries agree, catalog == log', async () => {
    const sent: Sent[] = [];
    let stopping = false;
    let frontendDownAt = Number.MAX_SAFE_INTEGER;
    const sessions = Array.from({ length: 4 }, async (_, s) => {
      for (let i = 0; !stopping; i++) {
        const order = { stock_name: `Stock${((s * 3 + i) % 10) + 1}`, trade_type: i % 2 ? 'sell' : 'Buy', quantity: (i % 3) + 1 };
        const key = randomUUID();
        const at = Date.now();
        try {
          const res = await http(`${c.frontend}/orders`, { body: order, headers: { 'Idempotency-Key': key }, timeoutMs: 30000 });
          sent.push({ key, order, status: res.status, order_no: res.status === 200 ? res.body.order_no : undefined, at });
        } catch {
          sent.push({ key, order, status: 0, at });
          await sleep(50);
        }
      }
    });
    const acked = () => sent.filter((x) => x.status === 200).length;
    await waitFor('10 orders acknowledged', async () => acked() >= 10, 30000);

    const leader = await c.leaderId();
    await terminate(`order-${leader}`);
    await expectCleanDatabase(join(c.dataDir, `order-${leader}.sqlite`));
    const afterLeader = acked();
    await waitFor('10 more orders acknowledged by the new leader', async () => acked() >= afterLeader + 10, 30000);

    frontendDownAt = Date.now();
    await terminate('frontend');
    await sleep(300); // clients now see refused connections
    await c.startFrontend();
    const afterFrontend = acked();
    await waitFor('10 more orders after the front end restarted', async () => acked() >= afterFrontend + 10, 30000);
    stopping = true;
    await Promise.all(sessions);

    await c.startReplica(leader);
    await c.waitReady(leader);

    // With the front end up, the leader's SIGTERM was invisible: no error before the front end went down.
    const unanswered = sent.filter((x) => x.status !== 200 && x.status !== 409);
    expect(unanswered.filter((x) => x.at < frontendDownAt).map((x) => x.status)).toEqual([]);

    // An unanswered order may or may not have traded: its key, retried until definite, says which.
    for (const u of unanswered) {
      const retry = await placeOrder(c.frontend, u.order, u.key);
      expect([200, 409]).toContain(retry.status);
      u.status = retry.status;
      u.order_no = retry.status === 200 ? retry.body.order_no : undefined;
    }
    const log: OrderRow[] = await c.converged();
    expect(log.map((o) => o.order_no)).toEqual(log.map((_, i) => i + 1));
    expect(new Set(log.map((o) => o.request_id)).size).toBe(log.length);
    const byKey = new Map(log.map((o) => [o.request_id, o]));
    for (const x of sent.filter((s) => s.status === 200)) {
      const row = byKey.get(x.key);
      expect(row && { order_no: row.order_no, stock_name: row.stock_name, trade_type: row.trade_type, quantity: row.quantity }).toEqual({
        order_no: x.order_no,
        ...x.order,
      });
    }
    // Keys refused (409) never got a number.
    for (const x of sent.filter((s) => s.status === 409)) expect(byKey.has(x.key)).toBe(false);
    await expectOnMajority(sent.filter((s) => s.status === 200));
    await expectCatalogMatchesLog(c, log);
  });

  it('the catalog exits 0 on SIGTERM with a checkpointed database, and comes back unchanged', async () => {
    const before = await c.stocksTable();
    await terminate('catalog');
    await expectCleanDatabase(join(c.dataDir, 'catalog.sqlite'));
    await c.startCatalog();
    expect(await c.stocksTable()).toEqual(before);
    expect((await internal(`${c.catalog}/query?stock_name=Stock1`)).status).toBe(200);
  });

  it('lookups riding out a catalog crash are answered 503 at once when the front end gets SIGTERM, and do not hold its drain', async () => {
    await lookupsAtShutdown(() => c.kill('catalog'));
    await c.startCatalog();
    await c.startFrontend();
    expect((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status).toBe(200);
  });

  it('so are lookups whose retry waits for a paused catalog: the retry ends with the drain', async () => {
    // The first try waits 8 s for a catalog that does not answer (5 s, and three leases), then a
    // retry is asked with what is left of FAILOVER_TIMEOUT_MS (20 s here, the drain's bound 10 s).
    await lookupsAtShutdown(() => c.signal('catalog', 'SIGSTOP'));
    await c.signal('catalog', 'SIGCONT');
    await c.startFrontend();
    expect((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status).toBe(200);
  });
});
