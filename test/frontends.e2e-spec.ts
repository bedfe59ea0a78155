import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, freePort, http, sleep, waitFor } from './support/cluster';
import { AckedOrder, expectConsistent, expectReadable } from './support/load';
import { DelayProxy } from './support/delay-proxy';
import { appMain, killAllStarted, runNode } from './support/process';

/**
 * Two front ends side by side (any single process may crash without a client-visible failure): one catalog and three replicas, the
 * catalog pushing invalidations to both (FRONTEND_URLS) under the lease rule; the second front
 * end adopts the leader the first elected. Under a load that uses both — test-side sessions
 * spread over them, and the client CLI with `--url a,b` — front end A is SIGKILLed: the sessions
 * that used it move to B with no client-visible failure, nothing lost or doubled, and a trade
 * through either front end is seen at once by a lookup through the other. Front end B reaches the
 * replicas through proxies, which can hold the leader's answer to one of its trades until after a
 * newer trade through A: B must not cache the stock the late answer carries.
 */
describe('two front ends', () => {
  let c: Cluster;
  let a: string;
  let b: string;
  /** B's ways to replicas 1, 2 and 3: no delay unless a test holds answers. */
  const toReplicas: DelayProxy[] = [];

  beforeAll(async () => {
    const ports = new Map<number, number>();
    for (const id of [1, 2, 3]) {
      ports.set(id, await freePort());
      const proxy = new DelayProxy(ports.get(id)!, () => c.replica(id), 0);
      await proxy.start();
      toReplicas.push(proxy);
    }
    const [pa, pb] = [await freePort(), await freePort()];
    a = `http://127.0.0.1:${pa}`;
    b = `http://127.0.0.1:${pb}`;
    c = await Cluster.start({ ports: { frontend: pa }, envFor: { catalog: { FRONTEND_URLS: `${a},${b}` } } });
    const dir = join(c.dataDir, 'frontend-2');
    mkdirSync(dir, { recursive: true });
    const viaProxies = [...ports].map(([id, port]) => `${id}=http://127.0.0.1:${port}`).join(',');
    c.spawnApp('frontend-2', 'frontend', { FRONTEND_PORT: String(pb), DATA_DIR: dir, ORDER_REPLICAS: viaProxies });
    await waitFor('frontend-2 listening', async () => (await http(`${b}/leader`, { timeoutMs: 2000 }).catch(() => ({ status: 0 }))).status === 200, 60000);
  }, 120000);
  afterAll(async () => {
    killAllStarted();
    await c?.stop();
    for (const proxy of toReplicas) await proxy.stop();
  });

  const quantity = async (fe: string, stock: string) => {
    const res = await http(`${fe}/stocks?stock_name=${stock}`);
    expect(res.status).toBe(200);
    return res.body.quantity as number;
  };

  it('the second front end adopts the leader the first elected: one leader, one epoch', async () => {
    const [la, lb] = [(await http(`${a}/leader`)).body, (await http(`${b}/leader`)).body];
    expect({ leader: lb.leader, epoch: lb.epoch }).toEqual({ leader: la.leader, epoch: la.epoch });
    expect(la).toMatchObject({ leader: 3, epoch: 1 });
  });

  it('a trade through one front end is seen at once by a lookup through the other (both cached)', async () => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ]) {
      // Cached on both.
      for (const fe of [a, b]) {
        await quantity(fe, 'Stock3');
        await quantity(fe, 'Stock3');
      }
      const before = await quantity(to, 'Stock3');
      const placed = await http(`${from}/orders`, { body: { stock_name: 'Stock3', trade_type: 'buy', quantity: 2 }, headers: { 'Idempotency-Key': randomUUID() } });
      expect(placed.status).toBe(200);
      expect(await quantity(to, 'Stock3')).toBe(before - 2);
      expect(await quantity(from, 'Stock3')).toBe(before - 2);
    }
    const stats = await Promise.all([a, b].map(async (fe) => (await http(`${fe}/cache/stats`)).body));
    for (const s of stats) expect(s.hits).toBeGreaterThan(0);
  });

  it("a trade's answer that arrives after a newer trade's push is not cached: the lookup shows the newer trade", async () => {
    const volume = async () => ((await c.internal(`${c.catalog}/query?stock_name=Stock9`)).body.data.trade_volume as number);
    await quantity(b, 'Stock9'); // cached on B: B knows how new Stock9 is
    const before = (await http(`${b}/cache/stats`)).body;
    const start = await volume();
    // Trade 1 through B; the leader's answer, carrying Stock9 as committed by trade 1, is held on its way to B.
    const release = toReplicas.map((p) => p.holdResponses((method, path) => method === 'POST' && path === '/trade/batch'));
    const first = http(`${b}/orders`, { body: { stock_name: 'Stock9', trade_type: 'buy', quantity: 1 }, headers: { 'Idempotency-Key': randomUUID() } });
    await waitFor('trade 1 committed at the catalog', async () => (await volume()) === start + 1, 10000);
    // Trade 2 through A: acknowledged once its push reached B too.
    const second = await http(`${a}/orders`, { body: { stock_name: 'Stock9', trade_type: 'buy', quantity: 2 }, headers: { 'Idempotency-Key': randomUUID() } });
    expect(second.status).toBe(200);
    for (const r of release) r();
    expect((await first).status).toBe(200);
    const truth = (await c.internal(`${c.catalog}/query?stock_name=Stock9`)).body.data;
    expect(truth.trade_volume).toBe(start + 3);
    expect((await http(`${b}/stocks?stock_name=Stock9`)).body).toEqual(truth);
    const after = (await http(`${b}/cache/stats`)).body;
    expect(after.offers_taken).toBe(before.offers_taken); // trade 1's stock was older than what B had been told
  });

  it('a front end that cannot reach the catalog answers lookups 503 at once, and the client CLI moves them to the next --url', async () => {
    // A third front end whose catalog is a port nothing listens on, with a short failover bound:
    // its first lookup asks for FAILOVER_TIMEOUT_MS, then the catalog is out of reach.
    const pc = await freePort();
    const cutOff = `http://127.0.0.1:${pc}`;
    const dir = join(c.dataDir, 'frontend-3');
    mkdirSync(dir, { recursive: true });
    c.spawnApp('frontend-3', 'frontend', { FRONTEND_PORT: String(pc), DATA_DIR: dir, CATALOG_URL: `http://127.0.0.1:${await freePort()}`, FAILOVER_TIMEOUT_MS: '2000' });
    try {
      await waitFor('frontend-3 listening', async () => (await http(`${cutOff}/leader`, { timeoutMs: 2000 }).catch(() => ({ status: 0 }))).status === 200, 60000);
      const first = await http(`${cutOff}/stocks?stock_name=Stock1`, { timeoutMs: 30000 });
      expect({ status: first.status, message: first.body.error?.message }).toEqual({ status: 503, message: expect.stringMatching(/^catalog unreachable: /) });
      // Its log is written asynchronously: the line may land a moment after the answer.
      await waitFor('frontend-3 to log that the catalog is out of reach', async () => /the catalog has not answered a lookup for 2 s/.test(c.log('frontend-3')), 10000);
      // The CLI, pointed at it first: answered 503 there, each lookup goes on to the next front end.
      const cli = await runNode(appMain('client'), ['lookup', 'Stock1', '--url', `${cutOff},${a}`], {}, 30000);
      expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('HTTP 200') });
      expect(JSON.parse(cli.stdout)).toMatchObject({ stock_name: 'Stock1' });
    } finally {
      await c.signal('frontend-3', 'SIGKILL');
    }
  });

  it('SIGKILL one front end under a load that uses both: sessions move to the other, no failure, nothing lost or doubled', async () => {
    const acked: AckedOrder[] = [];
    const errors: string[] = [];
    const moves = { count: 0 };
    let stopping = false;
    // Test-side sessions, half starting on each front end; a request that gets no answer goes to
    // the other, a trade with the same idempotency key.
    const session = async (s: number) => {
      const urls = s % 2 === 0 ? [a, b] : [b, a];
      let at = 0;
      for (let i = 0; !stopping; i++) {
        const order = { stock_name: `Stock${((s * 7 + i) % 10) + 1}`, trade_type: i % 2 === 0 ? 'Buy' : 'sell', quantity: (i % 3) + 1 };
        const key = randomUUID();
        for (let attempt = 0; ; attempt++) {
          let res;
          try {
            res = await http(`${urls[at]}/orders`, { body: order, headers: { 'Idempotency-Key': key }, timeoutMs: 30000 });
          } catch (e) {
            if (attempt >= 3) {
              errors.push(`session ${s}: ${String(e)}`);
              break;
            }
            at = (at + 1) % urls.length;
            moves.count++;
            continue;
          }
          if (res.status === 200) acked.push({ key, order_no: res.body.order_no, ...order });
          else if (res.status !== 409) errors.push(`session ${s}: ${res.status} ${res.text}`);
          break;
        }
        await sleep(5);
      }
    };
    const sessions = [0, 1, 2, 3].map(session);
    const cli = runNode(appMain('client'), ['load', '--url', `${a},${b}`, '--sessions', '3', '--p', '0.6', '--duration', '10', '--seed', '7', '--quiet'], {}, 120000);

    await waitFor('some orders acknowledged', async () => acked.length >= 20, 30000);
    await c.kill('frontend');
    const killedAt = acked.length;
    await waitFor('orders acknowledged after the kill', async () => acked.length >= killedAt + 30, 30000);
    stopping = true;
    await Promise.all(sessions);
    const out = await cli;

    expect(errors).toEqual([]);
    expect({ code: out.code, tail: out.code === 0 ? '' : `${out.stdout}${out.stderr}`.slice(-2000) }).toEqual({ code: 0, tail: '' });
    expect(moves.count).toBeGreaterThan(0); // the sessions that used A did move
    const log = await c.converged();
    await expectConsistent(c, log, acked);
    await expectReadable({ frontend: b }, acked);
  }, 180000);
});
