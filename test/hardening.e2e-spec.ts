import { spawnSync } from 'node:child_process';
import { Agent as HttpAgent, get as httpGet, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Cluster, http, HttpResult, placeOrder, TOKEN_HEADER, sleep, waitFor } from './support/cluster';

/**
 * What an operator needs before exposing the bazaar: internal endpoints closed by the cluster
 * token, Prometheus metrics on every app, JSON logs with a request id that follows a trade
 * across hops, and an opt-in per-address rate limit on the public API. Real processes.
 */
describe('hardening', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ env: { LOG_LEVEL: 'debug', MAX_CONNECTIONS_PER_CLIENT: '64' } });
  });
  afterAll(() => c?.stop());

  /** Every internal endpoint, with the failure shape its contract uses. */
  const internalEndpoints = (): [string, string, { method?: string; body?: object }, 'error' | 'message' | 'order'][] => [
    ['catalog GET /query', `${c.catalog}/query?stock_name=Stock1`, {}, 'error'],
    ['catalog POST /trade', `${c.catalog}/trade`, { body: { stock_name: 'Stock1', type: 'buy', quantity: 1 } }, 'message'],
    ['catalog POST /trade/batch', `${c.catalog}/trade/batch`, { body: { trades: [{ stock_name: 'Stock1', type: 'buy', quantity: 1 }] } }, 'message'],
    ['catalog GET /trades', `${c.catalog}/trades?after=0&limit=10`, {}, 'error'],
    ['order GET /trade', `${c.replica(3)}/trade?stock_name=Stock1&trade_type=buy&quantity=1&request_id=x1&epoch=1`, {}, 'order'],
    ['order POST /trade/batch', `${c.replica(3)}/trade/batch`, { body: { epoch: 1, trades: [{ stock_name: 'Stock1', trade_type: 'buy', quantity: 1, request_id: 'x2' }] } }, 'order'],
    ['order GET /query', `${c.replica(3)}/query?order_no=1`, {}, 'error'],
    ['order POST /sync', `${c.replica(2)}/sync`, { body: { leader: 3, epoch: 1, orders: [] } }, 'message'],
    ['order GET /leader', `${c.replica(2)}/leader?leader=2&epoch=99`, {}, 'message'],
    ['order GET /replication/status', `${c.replica(1)}/replication/status`, {}, 'error'],
    ['order GET /replication/log', `${c.replica(1)}/replication/log?after=0&limit=10`, {}, 'error'],
    ['order POST /replication/compare', `${c.replica(1)}/replication/compare`, { body: { from: 2, order_no: 1 } }, 'error'],
    ['front end GET /rm', `${c.frontend}/rm?stock_name=Stock1`, {}, 'error'],
    ['front end POST /rm', `${c.frontend}/rm`, { body: { stock_names: ['Stock1'] } }, 'error'],
  ];

  const expectUnauthorized = (res: HttpResult, shape: 'error' | 'message' | 'order') => {
    expect(res.status).toBe(401);
    const message = 'missing or wrong cluster token (x-cluster-token header)';
    if (shape === 'error') expect(res.body).toEqual({ error: { code: 401, message } });
    if (shape === 'message') expect(res.body).toEqual({ message });
    if (shape === 'order') expect(res.body).toEqual({ order_no: -1, message });
  };

  describe('cluster token', () => {
    it('every internal endpoint answers 401 in its shape without the token, with a wrong one, or a wrong-length one', async () => {
      const stocksBefore = await c.stocksTable();
      const ordersBefore = await c.orderTable(3);
      const leaderBefore = await c.leaderId();
      for (const [name, url, init, shape] of internalEndpoints()) {
        for (const headers of [{} as Record<string, string>, { [TOKEN_HEADER]: 'x'.repeat(c.token.length) }, { [TOKEN_HEADER]: `${c.token}x` }, { [TOKEN_HEADER]: '' }]) {
          const res = await http(url, { ...init, headers });
          try {
            expectUnauthorized(res, shape);
          } catch (e) {
            throw new Error(`${name} with ${JSON.stringify(Object.keys(headers))}: ${res.status} ${res.text}\n${(e as Error).message}`);
          }
        }
      }
      // Nothing moved: no trade, no order, no leader change.
      expect(await c.stocksTable()).toEqual(stocksBefore);
      expect(await c.orderTable(3)).toEqual(ordersBefore);
      expect(await c.leaderId()).toBe(leaderBefore);
    });

    it('the token opens them (and bad input behind it still gets a 400)', async () => {
      expect((await c.internal(`${c.catalog}/query?stock_name=Stock1`)).status).toBe(200);
      expect((await c.internal(`${c.replica(1)}/replication/status`)).status).toBe(200);
      const bad = await c.internal(`${c.catalog}/trade`, { body: { stock_name: 'Stock1', type: 'buy', quantity: 0 } });
      expect(bad.status).toBe(400);
    });

    it('a peer\'s request to compare an order again: bad input is a 400, a claim its copies refute changes nothing', async () => {
      const placed = await placeOrder(c.frontend, { stock_name: 'Stock2', trade_type: 'buy', quantity: 1 });
      expect(placed.status).toBe(200);
      const orderNo = placed.body.order_no as number;
      await c.converged();
      const compare = (replica: number, body: object) => c.internal(`${c.replica(replica)}/replication/compare`, { body });
      for (const body of [{}, { from: 2 }, { from: 0, order_no: 1 }, { from: 2, order_no: '1' }, { from: 2, order_no: 1.5 }]) {
        const res = await compare(1, body);
        expect({ body, status: res.status, shape: Object.keys(res.body ?? {}) }).toEqual({ body, status: 400, shape: ['error'] });
      }
      expect((await compare(1, { from: 1, order_no: orderNo })).body).toEqual({ error: { code: 400, message: 'replica 1 is not a peer of replica 1' } });
      expect((await compare(1, { from: 9, order_no: orderNo })).body).toEqual({ error: { code: 400, message: 'replica 9 is not a peer of replica 1' } });
      // The claim is checked against the asker's copy: identical copies leave it serving.
      const leader = await c.leaderId();
      const follower = [1, 2, 3].find((id) => id !== leader)!;
      const asker = [1, 2, 3].find((id) => id !== follower && id !== leader)!;
      expect(await compare(follower, { from: asker, order_no: orderNo })).toMatchObject({ status: 200, body: { message: `replica ${follower}'s order ${orderNo} is the same as replica ${asker}'s` } });
      expect(await compare(leader, { from: follower, order_no: orderNo })).toMatchObject({ status: 200, body: { message: `replica ${leader} is leader: it compares its log before it serves anyway, or leads` } });
      expect((await compare(follower, { from: asker, order_no: 999_999 })).body.message).toBe(`replica ${follower} or replica ${asker} holds no order 999999: nothing to compare`);
      expect((await c.internal(`${c.replica(follower)}/ping`)).status).toBe(200);
      expect(await c.leaderId()).toBe(leader);
    });

    it('the public API, health checks, metrics and docs need no token', async () => {
      expect((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status).toBe(200);
      const placed = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
      expect(placed.status).toBe(200);
      expect((await http(`${c.frontend}/orders?order_no=${placed.body.order_no}`)).status).toBe(200);
      expect((await http(`${c.frontend}/leader`)).status).toBe(200);
      expect((await http(`${c.replica(1)}/ping`)).status).toBe(200);
      expect((await http(`${c.catalog}/health`)).status).toBe(200);
      for (const url of [c.frontend, c.catalog, c.replica(1)]) {
        expect((await http(`${url}/metrics`)).status).toBe(200);
        const docs = await http(`${url}/docs-json`);
        expect(docs.status).toBe(200);
        expect(docs.body.components.securitySchemes['cluster-token']).toEqual({ type: 'apiKey', in: 'header', name: TOKEN_HEADER });
      }
    });

    it('without CLUSTER_TOKEN a service starts, warns, and leaves its internal endpoints open', async () => {
      await c.signal('catalog', 'SIGTERM');
      await c.startCatalog({ CLUSTER_TOKEN: '' });
      try {
        expect((await http(`${c.catalog}/query?stock_name=Stock1`)).status).toBe(200);
        const warning = jsonLines(c.log('catalog')).find((l) => String(l.msg).startsWith('CLUSTER_TOKEN is not set'));
        expect(warning).toMatchObject({ level: 40, app: 'catalog' });
      } finally {
        await c.signal('catalog', 'SIGTERM');
        await c.startCatalog();
      }
      expectUnauthorized(await http(`${c.catalog}/query?stock_name=Stock1`), 'error');
    });

    it('a bad token is refused at start with one line, which does not repeat it', async () => {
      // A real secret that fails the check (a stray space, a newline from a secret store) was printed whole.
      const res = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'apps', 'catalog', 'src', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', CLUSTER_TOKEN: 'my real secret with a space', DATA_DIR: c.dataDir },
        encoding: 'utf8',
        timeout: 20000,
      });
      expect(res.status).toBe(1);
      expect(res.stderr.trim()).toBe('catalog: Invalid configuration: CLUSTER_TOKEN must be 16 to 256 printable characters without spaces (got a value of 27 characters, not shown)');
      expect(res.stderr + res.stdout).not.toContain('secret');
    });
  });

  describe('metrics', () => {
    const scrape = async (url: string) => {
      const res = await http(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('# TYPE http_request_duration_seconds histogram');
      return res.text;
    };
    /** The value of one series, e.g. `bazaar_cache_hits_total` or `bazaar_order_role{…role="leader"}`. */
    const value = (text: string, series: RegExp): number => {
      const line = text.split('\n').find((l) => !l.startsWith('#') && series.test(l.split(' ')[0]));
      if (!line) throw new Error(`no series ${series} in\n${text.slice(0, 3000)}`);
      return Number(line.split(' ').pop());
    };

    it('the front end reports request latency per route, the cache and the leader', async () => {
      await c.internal(`${c.frontend}/rm?stock_name=Stock7`);
      await http(`${c.frontend}/stocks?stock_name=Stock7`); // miss
      await http(`${c.frontend}/stocks?stock_name=Stock7`); // hit
      await http(`${c.frontend}/no/such/path/${Math.random()}`);
      const text = await scrape(c.frontend);
      expect(value(text, /^http_request_duration_seconds_count\{.*route="\/stocks",status="200".*\}$/)).toBeGreaterThanOrEqual(2);
      expect(value(text, /^http_request_duration_seconds_count\{.*route="unmatched",status="404".*\}$/)).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain('/no/such/path');
      expect(value(text, /^bazaar_cache_hits_total\{/)).toBeGreaterThanOrEqual(1);
      expect(value(text, /^bazaar_cache_misses_total\{/)).toBeGreaterThanOrEqual(1);
      expect(value(text, /^bazaar_cache_invalidations_total\{/)).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^bazaar_cache_evictions_total\{app="frontend"\} \d+$/m);
      expect(text).toMatch(/^bazaar_catalog_out_of_reach\{app="frontend"\} 0$/m);
      expect(text).toMatch(/^bazaar_lookups_shed_total\{app="frontend"\} 0$/m);
      expect(value(text, /^bazaar_leader_epoch\{/)).toBeGreaterThanOrEqual(1);
      expect(value(text, /^bazaar_leader_id\{/)).toBe(await c.leaderId());
      expect(value(text, /^bazaar_leader_changes_total\{/)).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^process_cpu_seconds_total\{app="frontend"\} /m);
    });

    it('the catalog counts trades by outcome and invalidation pushes', async () => {
      const before = await scrape(c.catalog);
      const ok = (t: string) => value(t, /^bazaar_catalog_trades_total\{.*outcome="ok".*\}$/);
      const okBefore = before.includes('outcome="ok"') ? ok(before) : 0;
      expect((await placeOrder(c.frontend, { stock_name: 'Stock2', trade_type: 'buy', quantity: 1 })).status).toBe(200);
      expect((await placeOrder(c.frontend, { stock_name: 'Stock2', trade_type: 'buy', quantity: 1000 })).status).toBe(409);
      const after = await scrape(c.catalog);
      expect(ok(after)).toBe(okBefore + 1);
      expect(value(after, /^bazaar_catalog_trades_total\{.*outcome="refused".*\}$/)).toBeGreaterThanOrEqual(1);
      expect(value(after, /^bazaar_catalog_invalidations_total\{.*result="delivered".*\}$/)).toBeGreaterThanOrEqual(1);
    });

    it('replicas report role, epoch, orders placed, replication lag per follower and recovery progress', async () => {
      const leader = await c.leaderId();
      const follower = [1, 2, 3].find((id) => id !== leader)!;
      await c.kill(`order-${follower}`);
      for (let i = 0; i < 5; i++) {
        expect((await placeOrder(c.frontend, { stock_name: 'Stock3', trade_type: 'buy', quantity: 1 })).status).toBe(200);
      }
      const leading = await scrape(c.replica(leader));
      expect(value(leading, /^bazaar_order_role\{.*role="leader".*\}$/)).toBe(1);
      expect(value(leading, /^bazaar_order_role\{.*role="follower".*\}$/)).toBe(0);
      expect(value(leading, /^bazaar_order_epoch\{/)).toBeGreaterThanOrEqual(1);
      expect(value(leading, /^bazaar_orders_placed_total\{/)).toBeGreaterThanOrEqual(5);
      // The dead follower has missed at least the five orders.
      expect(value(leading, new RegExp(`^bazaar_replication_lag_orders\\{.*follower="${follower}".*\\}$`))).toBeGreaterThanOrEqual(5);
      const last = value(leading, /^bazaar_order_log_last_no\{/);
      const pending = new RegExp(`^bazaar_replication_sync_pending_seconds\\{.*follower="${follower}".*\\}$`);
      const contactAge = new RegExp(`^bazaar_replication_contact_age_seconds\\{.*follower="${follower}".*\\}$`);
      expect(value(leading, pending)).toBeGreaterThanOrEqual(0);
      // Unanswered since it died: its time since last contact grows.
      await waitFor('the dead follower to be out of contact for a second', async () => value(await scrape(c.replica(leader)), contactAge) >= 1);

      await c.startReplica(follower);
      await c.waitReady(follower);
      const recovered = await scrape(c.replica(follower));
      expect(value(recovered, /^bazaar_recovery_orders_fetched_total\{/)).toBeGreaterThanOrEqual(5);
      expect(value(recovered, /^bazaar_recovery_remaining_orders\{/)).toBe(0);
      expect(value(recovered, /^bazaar_order_role\{.*role="follower".*\}$/)).toBe(1);
      expect(value(recovered, /^bazaar_order_log_last_no\{/)).toBeGreaterThanOrEqual(last);
      await waitFor('the lag to close', async () => {
        const t = await scrape(c.replica(leader));
        return value(t, new RegExp(`^bazaar_replication_lag_orders\\{.*follower="${follower}".*\\}$`)) === 0;
      });
      await waitFor('the follower back in contact', async () => value(await scrape(c.replica(leader)), contactAge) < 1);
    });
  });

  describe('logs', () => {
    it('are JSON lines naming the app, and one request id follows a trade across every hop', async () => {
      const id = `trace-${Date.now()}`;
      const res = await http(`${c.frontend}/orders`, {
        body: { stock_name: 'Stock4', trade_type: 'buy', quantity: 1 },
        headers: { 'x-request-id': id },
      });
      expect(res.status).toBe(200);
      const leader = `order-${await c.leaderId()}`;
      for (const name of ['frontend', leader, 'catalog']) {
        await waitFor(`${name} to log request ${id}`, async () => jsonLines(c.log(name)).some((l) => l.reqId === id || (l.req as { id?: string })?.id === id), 10000);
        const lines = jsonLines(c.log(name));
        expect(lines.length).toBeGreaterThan(10);
        expect(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number' && l.app === name)).toBe(true);
      }
      // The catalog's invalidation push came back to the front end with the same id. (The request
      // line of /orders is written when its response closes, which may be after the client has it.)
      const frontendUrls = () =>
        jsonLines(c.log('frontend'))
          .filter((l) => (l.req as { id?: string } | undefined)?.id === id)
          .map((l) => (l.req as { url: string }).url);
      await waitFor('the front end to log /orders and /rm with the id', async () => ['/orders', '/rm'].every((u) => frontendUrls().includes(u)), 10000);
      // The token never reaches a log.
      for (const name of ['frontend', leader, 'catalog']) expect(c.log(name)).not.toContain(c.token);
    });

    it('a lookup that misses the cache and an order lookup carry their ids to the catalog and the leader', async () => {
      const placed = await http(`${c.frontend}/orders`, { body: { stock_name: 'Stock5', trade_type: 'buy', quantity: 1 } });
      expect(placed.status).toBe(200); // its invalidation leaves Stock5 out of the cache
      const stamp = Date.now();
      const lookup = await fetch(`${c.frontend}/stocks?stock_name=Stock5`, { headers: { 'x-request-id': `miss-${stamp}` } });
      expect(lookup.status).toBe(200);
      const order = await fetch(`${c.frontend}/orders?order_no=${(placed.body as { order_no: number }).order_no}`, {
        headers: { 'x-request-id': `order-${stamp}` },
      });
      expect(order.status).toBe(200);
      const leader = `order-${await c.leaderId()}`;
      const logged = (name: string, id: string, url: RegExp) =>
        jsonLines(c.log(name)).some((l) => {
          const req = l.req as { id?: string; url?: string } | undefined;
          return req?.id === id && url.test(req.url ?? '');
        });
      await waitFor('the catalog to log the miss', async () => logged('catalog', `miss-${stamp}`, /^\/query\?/), 10000);
      await waitFor('the leader to log the order lookup', async () => logged(leader, `order-${stamp}`, /^\/query\?/), 10000);
    });

    it('a new id is made (and echoed) when the caller sends none or a malformed one', async () => {
      const none = await fetch(`${c.frontend}/stocks?stock_name=Stock1`);
      expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const bad = await fetch(`${c.frontend}/stocks?stock_name=Stock1`, { headers: { 'x-request-id': 'has spaces in it' } });
      expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const good = await fetch(`${c.frontend}/stocks?stock_name=Stock1`, { headers: { 'x-request-id': 'mine-1' } });
      expect(good.headers.get('x-request-id')).toBe('mine-1');
    });

    it('LOG_FORMAT=pretty prints readable lines instead of JSON', async () => {
      await c.signal('catalog', 'SIGTERM');
      const from = c.log('catalog').length;
      await c.startCatalog({ LOG_FORMAT: 'pretty' });
      await waitFor('the pretty start-up line', async () => c.log('catalog').slice(from).includes('listening on'), 10000);
      const pretty = c.log('catalog').slice(from).split('\n').filter((l) => l.includes('listening on'));
      expect(pretty[0]).not.toMatch(/^\{/);
      expect(pretty[0]).toMatch(/INFO/);
      await c.signal('catalog', 'SIGTERM');
      await c.startCatalog();
    });
  });

  describe('connections', () => {
    // Slowloris: one client held a front end at its open-file limit with connections that sent
    // their headers a line at a time, and every other client was refused.
    it('the front end keeps an idle connection 65 s, past a proxy\'s 60 s: a client that reuses one after node\'s 5 s is answered on it', async () => {
      // An agent with no idle timeout of its own, as a proxy's upstream pool: at node's 5 s
      // keep-alive timeout, its request on the connection the server had closed got ECONNRESET.
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
      const get = () =>
        new Promise<{ status?: number; reused: boolean; keepAlive?: string }>((resolve, reject) => {
          const req = httpGet(`${c.frontend}/stocks?stock_name=Stock1`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket, keepAlive: String(res.headers['keep-alive']) }));
          });
          req.on('error', reject);
        });
      try {
        expect(await get()).toEqual({ status: 200, reused: false, keepAlive: 'timeout=65' });
        await sleep(6000);
        expect(await get()).toEqual({ status: 200, reused: true, keepAlive: 'timeout=65' });
      } finally {
        agent.destroy();
      }
    });

    it("one client's slow connections do not deny another: past MAX_CONNECTIONS_PER_CLIENT they are closed at once, and the rest within the headers timeout", async () => {
      const { port } = new URL(c.frontend);
      const slow: Socket[] = [];
      const closed: Promise<void>[] = [];
      try {
        for (let i = 0; i < 200; i++) {
          // From another loopback address: another client.
          const s = connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
          s.on('error', () => undefined);
          s.resume(); // reads what comes (the 408), so that the server's close is seen
          s.once('connect', () => s.write('GET /stocks?stock_name=Stock1 HTTP/1.1\r\nHost: x\r\n'));
          closed.push(new Promise((r) => s.once('close', () => r())));
          slow.push(s);
        }
        await waitFor('all but 64 of them closed', async () => slow.filter((s) => s.destroyed).length >= 136 || undefined, 20_000);
        expect(slow.filter((s) => !s.destroyed)).toHaveLength(64);
        // Another client is served meanwhile.
        expect((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status).toBe(200);
        // The 64 held are cut off, their headers never finished (10 s).
        await waitFor('every slow connection closed', async () => slow.every((s) => s.destroyed) || undefined, 30_000);
        await Promise.all(closed);
      } finally {
        slow.forEach((s) => s.destroy());
      }
    });
  });

  describe('rate limit', () => {
    afterAll(async () => {
      await c.signal('frontend', 'SIGTERM');
      await c.startFrontend();
    });

    it('is off by default: a burst is never throttled', async () => {
      const statuses = await Promise.all(Array.from({ length: 60 }, () => http(`${c.frontend}/stocks?stock_name=Stock1`).then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([200]));
    });

    it('when set, limits each client address separately and answers 429 in the route’s shape', async () => {
      await c.signal('frontend', 'SIGTERM');
      await c.startFrontend({ RATE_LIMIT: '5', RATE_LIMIT_WINDOW_MS: '60000' });
      // startFrontend polled GET /leader, which is not rate limited.
      const port = c.ports.get('frontend')!;
      const results: number[] = [];
      for (let i = 0; i < 5; i++) results.push((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status);
      expect(results).toEqual([200, 200, 200, 200, 200]);
      const limited = await http(`${c.frontend}/stocks?stock_name=Stock1`);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ error: { code: 429, message: 'too many requests: at most 5 per 60000 ms from one address' } });
      const order = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
      expect(order.status).toBe(429);
      expect(order.body).toEqual({ order_no: -1, message: 'too many requests: at most 5 per 60000 ms from one address' });
      // Like every trade answer, it carries the trade's key: the client may retry with it later.
      const keyed = await fetch(`${c.frontend}/orders`, {
        method: 'POST',
        body: JSON.stringify({ stock_name: 'Stock1', trade_type: 'buy', quantity: 1 }),
        headers: { 'content-type': 'application/json', 'Idempotency-Key': 'rate-limited-1' },
        signal: AbortSignal.timeout(10000),
      });
      expect(keyed.status).toBe(429);
      expect(keyed.headers.get('idempotency-key')).toBe('rate-limited-1');
      // Another client address (127.0.0.2 is loopback too) has its own budget.
      const other = await getFrom('127.0.0.2', port, '/stocks?stock_name=Stock1');
      expect(other.status).toBe(200);
      expect(other.headers['retry-after']).toBeUndefined();
      const again = await getFrom('127.0.0.1', port, '/stocks?stock_name=Stock1');
      expect(again.status).toBe(429);
      expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
      // Internal and operational endpoints are not limited.
      expect((await c.internal(`${c.frontend}/rm?stock_name=Stock1`)).status).toBe(200);
      expect((await http(`${c.frontend}/leader`)).status).toBe(200);
      expect((await http(`${c.frontend}/metrics`)).status).toBe(200);
    });
  });
});

function jsonLines(log: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A GET sent from a chosen loopback address (fetch cannot pick its source address). */
function getFrom(localAddress: string, port: number, path: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
