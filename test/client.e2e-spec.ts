import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, freePort, http, waitFor } from './support/cluster';
import { AnswerDroppingProxy } from './support/delay-proxy';
import { expectCatalogMatchesLog } from './support/load';
import { appMain, killAllStarted, ROOT, RunResult, runNode, startNode } from './support/process';
import { settlesWithin } from '@app/testkit';

/**
 * The built client, run as a child process against a real cluster — a load run that checks every
 * acknowledged order, the single operations, the cluster status, and a bad command line.
 * Afterwards the catalog must follow from the order log: for every stock, initial quantity −
 * bought + sold = quantity, and trade volume = bought + sold.
 */
describe('client CLI against a real cluster', () => {
  let c: Cluster;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'bazaar-client-'));
    c = await Cluster.start();
  });
  afterAll(async () => {
    killAllStarted();
    await c?.stop();
    if (!process.env.KEEP_E2E_DATA) rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs the client with a clean environment (no BAZAAR_URL), bounded in time. */
  const client = (args: string[], timeoutMs = 90000): Promise<RunResult> => runNode(appMain('client'), args, {}, timeoutMs);
  const show = (r: RunResult) => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  const expectExit = (r: RunResult, code: number) => {
    if (r.timedOut || r.code !== code) throw new Error(`expected exit ${code}, got ${show(r)}`);
  };

  it('load: 5 sessions × 30 iterations, p 0.5 — exit 0, every order checked, no error', async () => {
    const json = join(tmp, 'load.json');
    const r = await client(['load', '--url', c.frontend, '--sessions', '5', '--p', '0.5', '--iterations', '30', '--seed', '7', '--json', json, '--quiet']);
    expectExit(r, 0);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.version).toBe(1);
    expect(result.config).toMatchObject({ url: c.frontend, sessions: 5, p: 0.5, iterations: 30, seed: 7 });
    expect(result.interrupted).toBe(false);
    expect(result.iterations_completed).toBe(150);
    expect(result.errors.total).toBe(0);
    expect(result.trades.ok).toBeGreaterThan(0);
    expect(result.trades.errors).toBe(0);
    expect(result.consistency).toMatchObject({ mismatches: 0, missing: 0, duplicates: 0, unchecked: 0 });
    expect(result.consistency.recorded).toBe(result.trades.ok);
    expect(result.consistency.matched).toBe(result.trades.ok);
    expect(result.requests.lookup.count).toBe(150);
    expect(result.requests.order_check.count).toBe(result.trades.ok);
    expect(result.passed).toBe(true);
    // The human report is printed too.
    expect(r.stdout.length).toBeGreaterThan(0);
  });

  it('lookup Stock1 prints the stock as JSON, equal to the catalog', async () => {
    const r = await client(['lookup', 'Stock1', '--url', c.frontend]);
    expectExit(r, 0);
    const catalog = (await c.internal(`${c.catalog}/query?stock_name=Stock1`)).body.data;
    expect(JSON.parse(r.stdout)).toEqual(catalog);
    expect(r.stderr).toContain('HTTP 200');
  });

  it('trade Stock1 buy 1 prints the new order number; order N prints that order', async () => {
    const before = (await c.internal(`${c.catalog}/query?stock_name=Stock1`)).body.data;
    if (before.quantity === 0) {
      // The load run may have sold Stock1 out; make room for the buy.
      expect((await http(`${c.frontend}/orders`, { body: { stock_name: 'Stock1', trade_type: 'sell', quantity: 1 } })).status).toBe(200);
    }
    const log = await c.converged();
    const trade = await client(['trade', 'Stock1', 'buy', '1', '--url', c.frontend]);
    expectExit(trade, 0);
    const placed = JSON.parse(trade.stdout);
    expect(placed).toEqual({ order_no: log.length + 1 });

    const order = await client(['order', String(placed.order_no), '--url', c.frontend]);
    expectExit(order, 0);
    expect(JSON.parse(order.stdout)).toEqual({ data: { order_no: placed.order_no, stock_name: 'Stock1', trade_type: 'buy', quantity: 1 } });
  });

  /**
   * A trade whose answer is lost on the way (a proxy before the front end resets the connection
   * once the answer starts back, after the trade went through): the client sends it again with
   * the same Idempotency-Key — its own, as none was given — and the front end answers with the
   * trade's one outcome. Without a key and a resend the client said `request failed` and a manual
   * retry traded twice.
   */
  describe('a trade whose answer is lost', () => {
    let proxy: AnswerDroppingProxy;
    beforeEach(async () => {
      const { hostname, port } = new URL(c.frontend);
      proxy = new AnswerDroppingProxy(await freePort(), { host: hostname, port: Number(port) }, 0);
      await proxy.start();
    });
    afterEach(() => proxy.stop());

    /** Stock4's volume, and a side that the catalog can trade 1 share of. */
    const stock4 = async () => {
      const s = (await c.internal(`${c.catalog}/query?stock_name=Stock4`)).body.data as { trade_volume: number; quantity: number };
      return { volume: s.trade_volume, side: s.quantity > 0 ? 'buy' : 'sell' };
    };

    it('once: it is sent again with its key; the client prints the order number, and the trade is in the log once', async () => {
      const before = await c.converged();
      const { volume, side } = await stock4();
      proxy.drops = 1;
      const r = await client(['trade', 'Stock4', side, '1', '--url', proxy.url]);
      expectExit(r, 0);
      expect(proxy.dropped).toBe(1);
      const placed = JSON.parse(r.stdout) as { order_no: number };
      expect(r.stderr).toMatch(/^sent 2 times with Idempotency-Key [0-9a-f-]{36} \(a sending got no answer\)/m);
      const log = await c.converged();
      expect(log.slice(before.length)).toEqual([expect.objectContaining({ order_no: placed.order_no, stock_name: 'Stock4', trade_type: side, quantity: 1 })]);
      expect((await stock4()).volume).toBe(volume + 1);
    });

    it('every time: the client says the trade may have gone through and prints the command that learns its outcome, which does', async () => {
      const before = await c.converged();
      const { volume, side } = await stock4();
      proxy.drops = Infinity;
      const r = await client(['trade', 'Stock4', side, '1', '--url', proxy.url]);
      expectExit(r, 1);
      expect(proxy.dropped).toBeGreaterThan(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^error: no answer from ${proxy.url}/orders \\((ECONNRESET|socket hang up), sent \\d+ times, after [\\d.]+ ms\\): the trade may have gone through; it was sent with Idempotency-Key [0-9a-f-]{36}: run \``));
      const retry = /run `npm run client -- ([^`]+)` to learn its outcome \(the same key never trades twice\)\n$/.exec(r.stderr);
      expect(retry).not.toBeNull();
      // Sent many times, traded once.
      const log = await c.converged();
      expect(log.slice(before.length)).toEqual([expect.objectContaining({ stock_name: 'Stock4', trade_type: side, quantity: 1 })]);
      expect((await stock4()).volume).toBe(volume + 1);

      // The command printed, run once the answers come through, learns the outcome: that order.
      proxy.drops = 0;
      const again = await client(retry![1].split(' '));
      expectExit(again, 0);
      expect(JSON.parse(again.stdout)).toEqual({ order_no: log[log.length - 1].order_no });
      expect((await c.converged()).length).toBe(log.length);
      expect((await stock4()).volume).toBe(volume + 1);
    });
  });

  it('lookup of an unknown stock and order of an unknown number exit 1 with the 404 body', async () => {
    const stock = await client(['lookup', 'NoSuchStock', '--url', c.frontend]);
    expectExit(stock, 1);
    expect(JSON.parse(stock.stdout)).toEqual({ error: { code: 404, message: 'Stock not found' } });
    const order = await client(['order', '999999', '--url', c.frontend]);
    expectExit(order, 1);
    expect(JSON.parse(order.stdout)).toEqual({ error: { code: 404, message: 'order not found' } });
  });

  it("status prints the front end's view of the cluster: the leader and the three replicas", async () => {
    const leader = (await http(`${c.frontend}/leader`)).body.leader as number;
    const r = await client(['status', '--url', c.frontend], 20000);
    expectExit(r, 0);
    expect(r.stdout).toContain(`Stock Bazaar at ${c.frontend}`);
    expect(r.stdout).toMatch(new RegExp(`^leader +order-${leader}, epoch \\d+, ${c.replica(leader)}$`, 'm'));
    for (const id of [1, 2, 3]) {
      const state = id === leader ? 'leader' : 'ready';
      expect(r.stdout).toMatch(new RegExp(`^order-${id} +${c.replica(id)} +${state} +\\d+ +\\d+ +\\d+ +\\d+$`, 'm'));
    }
    expect(r.stdout).toMatch(/^cache +hit ratio /m);
    expect(r.stdout).toContain('leader changes (most recent first)');
  });

  it('with no bazaar at the URL, lookup and load report the refused connection and exit 1', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const lookup = await client(['lookup', 'Stock1', '--url', nowhere], 20000);
    expectExit(lookup, 1);
    expect(lookup.stderr).toMatch(/^error: request failed: ECONNREFUSED/);
    const load = await client(['load', '--sessions', '2', '--iterations', '3', '--url', nowhere], 20000);
    expectExit(load, 1);
    expect(load.stdout).toContain(`lookup: ECONNREFUSED ${nowhere}/stocks`);
    const status = await client(['status', '--url', nowhere], 20000);
    expectExit(status, 1);
    expect(status.stderr).toBe(`error: cannot reach the front end at ${nowhere}/status.json: ECONNREFUSED\n`);
  });

  it('load against a dead front end backs off: a few requests a second per session, not a flood', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const json = join(tmp, 'dead.json');
    const r = await client(['load', '--sessions', '5', '--duration', '3', '--url', nowhere, '--json', json, '--quiet'], 30000);
    expectExit(r, 1);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    // Waits of 50, 100, 200, 400, 800, 1000 ms (2.55 s in all) leave room for 7 attempts per
    // session in 3 s; without the backoff it was thousands.
    expect(result.requests.lookup.count).toBeGreaterThanOrEqual(5);
    expect(result.requests.lookup.count).toBeLessThanOrEqual(5 * 7);
    expect(result.load_total.throughput_rps).toBe(0);
    expect(result.errors.by_cause).toEqual({ [`lookup: ECONNREFUSED ${nowhere}/stocks`]: result.requests.lookup.count });
  });

  // `npm run client -- status --watch | head -20`: once the reader is gone the client stops quietly
  // (as `npm start` does), instead of dying of an unhandled EPIPE with a stack trace.
  it.each([
    [['status', '--watch'], 0],
    [['lookup', 'Stock1', '--repeat', '100000'], 0],
  ])('%j whose standard output is closed stops at once, exit %d, no stack trace', async (args, code) => {
    const started = startNode(appMain('client'), [...args, '--url', c.frontend], {}, 20000);
    await new Promise<void>((resolve) => started.child.stdout!.once('data', () => resolve()));
    started.child.stdout!.destroy();
    const r = await started.done;
    expectExit(r, code);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled 'error'|^\s+at /m);
  });

  // `npm run client` execs the client, so npm's child is the client and the signals npm passes on
  // reach it: a process manager's SIGTERM to npm stops the run (under `sh -c` npm died and the
  // client ran on, orphaned). The Ctrl-C npm passes on a few milliseconds after the terminal's
  // own counts once (`onStopSignals`' unit spec), not as a second Ctrl-C that quits at once.
  it.each([
    ['Ctrl-C (SIGINT to the whole process group)', (pid: number) => process.kill(-pid, 'SIGINT')],
    ['SIGTERM to npm alone', (pid: number) => process.kill(pid, 'SIGTERM')],
  ])('`npm run client -- load`: %s stops the run, which checks its orders and reports; nothing is left running', async (_, send) => {
    const json = join(tmp, `interrupted-${Date.now()}.json`);
    const before = (await c.converged()).length;
    const npm = spawn('npm', ['run', '--silent', '--prefix', ROOT, 'client', '--', 'load', '--url', c.frontend, '--sessions', '2', '--p', '1', '--duration', '300', '--json', json], {
      cwd: tmp,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    npm.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    npm.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    const groupAlive = () => {
      try {
        process.kill(-npm.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await waitFor('the load run to trade', async () => (await Promise.all([1, 2, 3].map((id) => c.orderTable(id)))).some((t) => t.length >= before + 5), 60_000);
      send(npm.pid!);
      const settled = await settlesWithin(exited, 60_000);
      expect({ code: settled ? await exited : 'still running after 60 s', stderr: stderr.slice(-500) }).toMatchObject({ code: 130 });
      await waitFor('every process of the run to be gone', async () => !groupAlive(), 10_000);
    } finally {
      if (groupAlive()) process.kill(-npm.pid!, 'SIGKILL');
    }
    expect(stderr.match(/stopping: finishing the current iterations/g)).toHaveLength(1);
    expect(stdout).toContain('result: PASS (interrupted)');
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.interrupted).toBe(true);
    expect(result.trades.ok).toBeGreaterThan(0);
    expect(result.consistency).toMatchObject({ recorded: result.trades.ok, matched: result.trades.ok, mismatches: 0, missing: 0, duplicates: 0, unchecked: 0 });
  });

  it.each([
    [['load', '--p', '1.5'], 'error: --p must be a probability between 0 and 1 (got 1.5)'],
    [['load', '--sessions', '0'], '--sessions'],
    [['trade', 'Stock1', 'hold', '1'], 'trade type'],
    [['order', 'abc'], 'order number'],
  ])('%j exits 2 with a message and sends nothing', async (args, mention) => {
    const orders = (await c.converged()).length;
    const r = await client([...args, '--url', c.frontend], 20000);
    expectExit(r, 2);
    expect(r.stderr).toContain(mention);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('    at '))).toEqual([]);
    expect((await c.converged()).length).toBe(orders);
  });

  it('afterwards the catalog follows from the order log: 100 − bought + sold = quantity, volume = bought + sold', async () => {
    const log = await c.converged();
    expect(log.map((o) => o.order_no)).toEqual(log.map((_, i) => i + 1));
    await expectCatalogMatchesLog(c, log);
  });
});
