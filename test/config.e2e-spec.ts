import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, freePort, http, placeOrder, waitFor } from './support/cluster';
import { appMain, killAllStarted, RunResult, runNode, startNode, stripAnsi } from './support/process';
import { SchedPolicy, threadPolicies } from '@app/testkit';

/**
 * Every setting is validated at start-up; a bad value stops the process with a message
 * naming the variable, never a stack trace. Each app is started on its own, with a valid
 * environment except for the one variable under test.
 */
type App = 'catalog' | 'order' | 'frontend';

describe('start-up configuration is validated', () => {
  const dirs: string[] = [];
  let ports: { catalog: number; frontend: number; replicas: number[] };

  beforeAll(async () => {
    ports = { catalog: await freePort(), frontend: await freePort(), replicas: [await freePort(), await freePort(), await freePort()] };
  });

  afterAll(() => {
    killAllStarted();
    if (!process.env.KEEP_E2E_DATA) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A complete, valid environment for `app` with a fresh data directory. */
  function validEnv(app: App): Record<string, string> {
    const dataDir = mkdtempSync(join(tmpdir(), `bazaar-config-${app}-`));
    dirs.push(dataDir);
    const replicas = ports.replicas.map((p, i) => `${i + 1}=http://127.0.0.1:${p}`).join(',');
    const common = { DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    switch (app) {
      case 'catalog':
        return { ...common, CATALOG_PORT: String(ports.catalog), FRONTEND_URL: `http://127.0.0.1:${ports.frontend}` };
      case 'order':
        return { ...common, ORDER_ID: '1', ORDER_REPLICAS: replicas, CATALOG_URL: `http://127.0.0.1:${ports.catalog}` };
      case 'frontend':
        return { ...common, FRONTEND_PORT: String(ports.frontend), CATALOG_URL: `http://127.0.0.1:${ports.catalog}`, ORDER_REPLICAS: replicas };
    }
  }

  /** The URL a valid `app` answers on once it listens. */
  function probe(app: App): string {
    switch (app) {
      case 'catalog':
        return `http://127.0.0.1:${ports.catalog}/health`;
      case 'order':
        return `http://127.0.0.1:${ports.replicas[0]}/replication/status`;
      case 'frontend':
        return `http://127.0.0.1:${ports.frontend}/cache/stats`;
    }
  }

  describe('control: the same environment without the bad value starts every app', () => {
    it.each<App>(['catalog', 'order', 'frontend'])('%s listens', async (app) => {
      const { child, done } = startNode(appMain(app), [], validEnv(app), 30000);
      try {
        await waitFor(`${app} listening`, async () => (await http(probe(app), { timeoutMs: 1000 })).status === 200, 20000);
      } finally {
        child.kill('SIGKILL');
        await done;
      }
    });
  });

  /** Starts `app` with `env` added, waits until it listens, and returns its threads' policies and everything it printed. */
  async function started(app: App, env: Record<string, string>): Promise<{ policies: number[]; output: string }> {
    const { child, done } = startNode(appMain(app), [], { ...validEnv(app), ...env }, 30000);
    let policies: number[] = [];
    try {
      await waitFor(`${app} listening`, async () => (await http(probe(app), { timeoutMs: 1000 })).status === 200, 20000);
      policies = threadPolicies(child.pid!);
    } finally {
      child.kill('SIGKILL');
    }
    const r = await done;
    return { policies, output: stripAnsi(r.stdout + r.stderr) };
  }

  describe('CPU_SCHEDULING', () => {
    it('inherit: every thread keeps the policy it was started with', async () => {
      const { policies } = await started('catalog', { CPU_SCHEDULING: 'inherit' });
      const ours = threadPolicies(process.pid)[0];
      expect(ours).not.toBe(SchedPolicy.batch);
      expect(policies.length).toBeGreaterThan(1);
      expect(policies).toEqual(policies.map(() => ours));
    });

    it('batch without chrt on PATH: starts anyway under the default policy, with a warning naming the setting', async () => {
      const emptyDir = mkdtempSync(join(tmpdir(), 'bazaar-no-chrt-'));
      dirs.push(emptyDir);
      const { policies, output } = await started('frontend', { CPU_SCHEDULING: 'batch', PATH: emptyDir });
      expect(policies.length).toBeGreaterThan(1);
      expect(policies).toEqual(policies.map(() => threadPolicies(process.pid)[0]));
      expect(output).toMatch(/CPU_SCHEDULING=batch could not be applied \(.*chrt.*\); running under the default policy/);
    });
  });

  describe('V8_INTERRUPT_BUDGET', () => {
    // That V8 honours the option set at run time is the unit spec's (v8-tiering.spec.ts); here, that every app sets it.
    it.each<App>(['catalog', 'order', 'frontend'])('%s sets its default, 8192, at start', async (app) => {
      const { output } = await started(app, { LOG_LEVEL: 'log' });
      expect(output).toContain('V8 tiering: --interrupt-budget=8192 (V8_INTERRUPT_BUDGET)');
    });

    it('sets the value given, and leaves V8 alone with 0', async () => {
      expect((await started('order', { LOG_LEVEL: 'log', V8_INTERRUPT_BUDGET: '4096' })).output).toContain('V8 tiering: --interrupt-budget=4096');
      const { output } = await started('catalog', { LOG_LEVEL: 'log', V8_INTERRUPT_BUDGET: '0' });
      expect(output).toContain('listening on');
      expect(output).not.toContain('V8 tiering');
    });
  });

  const cases: [App, string, string][] = [
    ['catalog', 'CATALOG_PORT', 'abc'],
    ['catalog', 'CATALOG_PORT', '0'],
    ['catalog', 'SQLITE_SYNCHRONOUS', 'sometimes'],
    ['catalog', 'LOG_LEVEL', 'loud'],
    ['catalog', 'STOCK_CAPACITY', '-1'],
    ['catalog', 'FRONTEND_URL', 'ftp://127.0.0.1:1'],
    ['catalog', 'SWAGGER_ENABLED', 'perhaps'],
    ['catalog', 'INVALIDATION_TIMEOUT_MS', '1.5'],
    ['frontend', 'FRONTEND_PORT', '70000'],
    ['frontend', 'CACHE_CAPACITY', '0'],
    ['frontend', 'CACHE_CAPACITY', 'lots'],
    ['frontend', 'CACHE_ENABLED', 'maybe'],
    ['frontend', 'ORDER_REPLICAS', 'garbage'],
    ['frontend', 'CATALOG_URL', 'not a url'],
    ['frontend', 'ELECTION_INTERVAL_MS', '5'],
    ['frontend', 'LOG_LEVEL', 'loud'],
    ['frontend', 'CPU_SCHEDULING', 'realtime'],
    ['frontend', 'V8_INTERRUPT_BUDGET', 'eager'],
    ['catalog', 'V8_INTERRUPT_BUDGET', '-1'],
    ['order', 'V8_INTERRUPT_BUDGET', '16777217'],
    ['order', 'ORDER_REPLICAS', 'garbage'],
    ['order', 'ORDER_REPLICAS', '1=http://127.0.0.1:1,1=http://127.0.0.1:2'],
    ['order', 'ORDER_ID', 'abc'],
    ['order', 'ORDER_ID', '0'],
    ['order', 'ORDER_ID', '9'], // a valid integer, but not an id listed in ORDER_REPLICAS
    ['order', 'ORDER_ACK_MODE', 'all'],
    ['order', 'ORDER_PORT', '99999'],
    ['order', 'SQLITE_SYNCHRONOUS', 'sometimes'],
    ['order', 'HEARTBEAT_INTERVAL_MS', 'fast'],
    ['order', 'TRUST_OWN_LOG', 'maybe'],
    // A data directory that cannot be made: not a directory, and under /proc (where Node's
    // recursive mkdir never returns: the start hung).
    ['catalog', 'DATA_DIR', '/dev/null'],
    ['order', 'DATA_DIR', '/dev/null'],
    ['frontend', 'DATA_DIR', '/dev/null'],
    ['catalog', 'DATA_DIR', '/proc/bazaar-data'],
    ['order', 'DATA_DIR', '/proc/bazaar-data/order'],
    ['frontend', 'DATA_DIR', '/proc/bazaar-data'],
  ];

  const describeRun = (r: RunResult) => `exit ${r.code} signal ${r.signal}${r.timedOut ? ' (timed out)' : ''}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`;

  it.each(cases)('%s with %s=%j exits 1 with one line naming the variable, no stack trace', async (app, name, value) => {
    const r = await runNode(appMain(app), [], { ...validEnv(app), [name]: value }, 10000);
    const stderr = stripAnsi(r.stderr);
    const stdout = stripAnsi(r.stdout);
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');

    expect({ timedOut: r.timedOut, code: r.code }).toEqual({ timedOut: false, code: 1 });
    // No stack trace anywhere in the output.
    expect([...stderr.split('\n'), ...stdout.split('\n')].filter((l) => l.startsWith('    at '))).toEqual([]);
    // One line on stderr, and it names the variable.
    if (lines.length !== 1) throw new Error(`expected exactly one line on stderr, got ${lines.length}:\n${describeRun(r)}`);
    expect(lines[0]).toContain(name);
  });
  // Two processes on one database file (a second bazaar on the same data directory with other
  // ports, a replica started twice by hand) would each write it as if alone: the second is refused
  // in one line. The lock is the kernel's, so a SIGKILLed holder leaves none behind.
  it.each<[App, string, string, string]>([
    ['catalog', 'CATALOG_PORT', 'database file', 'catalog.sqlite'],
    ['order', 'ORDER_PORT', 'database file', 'order-1.sqlite'],
    ['frontend', 'FRONTEND_PORT', 'epoch file', 'frontend-epoch.json'],
  ])('a second %s on the same DATA_DIR (another %s) exits 1 in one line naming its %s; once the first is SIGKILLed, it starts', async (app, portVar, what, file) => {
    const env = validEnv(app);
    const first = startNode(appMain(app), [], env, 60000);
    try {
      await waitFor(`${app} listening`, async () => (await http(probe(app), { timeoutMs: 1000 })).status === 200, 20000);
      const elsewhere = { ...env, [portVar]: String(await freePort()) };
      const second = await runNode(appMain(app), [], elsewhere, 15000);
      expect({ timedOut: second.timedOut, code: second.code }).toEqual({ timedOut: false, code: 1 });
      const name = app === 'order' ? 'order-1' : app;
      expect(stripAnsi(second.stderr).trim()).toBe(
        `${name}: ${what} ${join(env.DATA_DIR, file)} is in use by another process: is this service already running on this data directory? ` +
          'Stop it first, or give this one a DATA_DIR of its own',
      );
      expect(second.stdout + second.stderr).not.toMatch(/^\s+at /m);
      // The first runs on, unharmed.
      expect((await http(probe(app), { timeoutMs: 1000 })).status).toBe(200);

      first.child.kill('SIGKILL');
      await first.done;
      const { child, done } = startNode(appMain(app), [], elsewhere, 30000);
      try {
        const port = elsewhere[portVar];
        const url = probe(app).replace(/:\d+\//, `:${port}/`);
        await waitFor(`${app} listening again`, async () => (await http(url, { timeoutMs: 1000 })).status === 200, 20000);
      } finally {
        child.kill('SIGKILL');
        await done;
      }
    } finally {
      first.child.kill('SIGKILL');
      await first.done;
    }
  });

  // Binding fails without any packet sent: 198.19.255.254 (the benchmark-test range, outside the
  // multi-host suite's addresses) is not an address of this host.
  it.each<[App, string, RegExp]>([
    ['catalog', '198.19.255.254', /^catalog: cannot bind 198\.19\.255\.254:\d+: 198\.19\.255\.254 is not an address of this host \(check HOST\)$/],
    ['order', '198.19.255.254', /^order-1: cannot bind 198\.19\.255\.254:\d+: 198\.19\.255\.254 is not an address of this host \(check HOST\)$/],
  ])('%s with HOST=%s, which it cannot bind, exits 1 with one line', async (app, host, line) => {
    const r = await runNode(appMain(app), [], { ...validEnv(app), HOST: host }, 15000);
    expect({ timedOut: r.timedOut, code: r.code }).toEqual({ timedOut: false, code: 1 });
    expect(stripAnsi(r.stderr).trim()).toMatch(line);
    expect(r.stdout + r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('the environment a process inherits', () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    await c?.stop();
  });

  it('an HTTP_PROXY in it does not reroute the hops between the bazaar services', async () => {
    const deadProxy = `http://127.0.0.1:${await freePort()}`;
    c = await Cluster.start({ env: { HTTP_PROXY: deadProxy, http_proxy: deadProxy } });
    // A trade crosses every hop: front end → leader → catalog (→ /rm push) and leader → followers.
    const placed = await placeOrder(c.frontend, { stock_name: 'Stock2', trade_type: 'buy', quantity: 1 });
    expect(placed.status).toBe(200);
    expect((await http(`${c.frontend}/stocks?stock_name=Stock2`)).body).toMatchObject({ quantity: 99 }); // a miss: from the catalog
    expect((await http(`${c.frontend}/orders?order_no=${placed.body.order_no}`)).status).toBe(200);
    expect((await c.converged()).length).toBe(1);
  });
});
