import { Agent, request } from 'node:http';
import { build } from 'hdr-histogram-js';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster, ClusterOptions, Env, NetLab, PORTS, startAcrossHosts as startAcrossHostsIn } from './cluster';
import { AckedOrder } from './load';

/** The hosts of the multi-host suites: one network namespace each. */
export const HOSTS = ['catalog', 'order1', 'order2', 'order3', 'frontend', 'client'] as const;

export { HOST_OF, PORTS } from './cluster';

/**
 * The testkit's `startAcrossHosts`. Each process logs at `log` level (TEST_ENV: elections, role
 * changes, recoveries); MULTIHOST_LOG_LEVEL=debug (with KEEP_E2E_DATA=1) keeps every request too.
 */
export function startAcrossHosts(lab: NetLab, opts: ClusterOptions = {}): Promise<Cluster> {
  const logLevel = process.env.MULTIHOST_LOG_LEVEL;
  return startAcrossHostsIn(lab, { ...opts, env: { ...(logLevel ? { LOG_LEVEL: logLevel } : {}), ...opts.env } });
}

/**
 * `describe(name, body)` for a suite that needs network namespaces (root, `ip netns`, `nft`).
 * Without them the suite is skipped with one line on stderr — except with `CI` set, where it
 * fails instead, so CI can never skip it silently. `onUnavailable` hears why (before either).
 */
export function describeAcrossHosts(name: string, body: () => void, onUnavailable?: (reason: string) => void): void {
  const availability = NetLab.available(true);
  if (availability.ok) return describe(`${name} (network namespaces)`, body);
  onUnavailable?.(availability.reason);
  const line = `${name} cannot run here: ${availability.reason}`;
  if (process.env.CI) {
    describe(name, () => {
      it('runs on CI (it may not be skipped there)', () => {
        throw new Error(`${line} — and CI is set, so that is a failure`);
      });
    });
  } else {
    process.stderr.write(`${line} — skipped\n`);
    describe.skip(name, () => {
      it('needs network namespaces', () => undefined);
    });
  }
}

/** What a suite on a network-namespace lab does around the lab's own set-up and tear-down. */
export interface NetLabHooks {
  /** Named in the line that reports namespaces of dead runs removed before the suite. */
  suite: string;
  /** Receives the lab once it is created, before the first test. */
  created: (lab: NetLab) => void;
  /** After each test, before the partitions are healed (e.g. telling a load to stop). */
  beforeHeal?: () => void;
  /** After each test, once healed, also when healing failed: stops what the test started (its cluster). */
  cleanUp: () => Promise<void>;
  /** After the suite, once the lab is destroyed. */
  done?: () => void;
}

/**
 * Registers the hooks of a suite on a lab of `hosts`: namespaces of dead runs removed and the lab
 * created before the tests; every partition healed and the test's processes stopped after each;
 * the lab destroyed after the suite, or when the process exits first.
 */
export function netLabHooks(hosts: readonly string[], hooks: NetLabHooks): void {
  let lab: NetLab | undefined;
  const destroyLab = () => lab?.destroy();
  beforeAll(() => {
    const stale = NetLab.removeStale();
    if (stale.length > 0) process.stderr.write(`${hooks.suite}: removed namespaces of dead runs: ${stale.join(', ')}\n`);
    process.once('exit', destroyLab);
    lab = NetLab.create([...hosts]);
    hooks.created(lab);
  });
  afterEach(async () => {
    hooks.beforeHeal?.();
    try {
      lab?.healAll();
    } finally {
      await hooks.cleanUp();
    }
  });
  afterAll(() => {
    destroyLab();
    process.removeListener('exit', destroyLab);
    hooks.done?.();
  });
}

/** Environment that sends every hop between hosts through `via(process)` (a proxy's URL) instead. */
export function proxiedEnv(via: (proc: string) => string): Record<string, Env> {
  const replicas = [1, 2, 3].map((id) => `${id}=${via(`order-${id}`)}`).join(',');
  const order = (id: number): Env => ({ ORDER_REPLICAS: replicas, ORDER_PORT: String(PORTS[`order-${id}`]), CATALOG_URL: via('catalog') });
  return {
    catalog: { FRONTEND_URL: via('frontend') },
    frontend: { ORDER_REPLICAS: replicas, CATALOG_URL: via('catalog') },
    'order-1': order(1),
    'order-2': order(2),
    'order-3': order(3),
  };
}

/**
 * Clients that talk to one replica directly as if it were still the leader of `epoch`: what a
 * front end that has not heard of a newer election would do. `sessions` of them trade one share
 * at a time, each trade with its own request id, until stopped; every acknowledgement and every
 * answer's status is recorded.
 */
export function staleLeaderClient(c: Cluster, replica: number, epoch: number, sessions = 4) {
  const acked: (AckedOrder & { at: number })[] = [];
  const statuses = new Map<number, number>();
  /** The first answer of each status other than 200. */
  const messages = new Map<number, string>();
  let stopping = false;
  let i = 0;
  const session = async () => {
    while (!stopping) {
      const n = i++;
      const order = { stock_name: `Stock${(n % 10) + 1}`, trade_type: n % 2 === 0 ? 'buy' : 'sell', quantity: 1 };
      const key = `stale-${epoch}-${n}`;
      const q = new URLSearchParams({ ...order, quantity: '1', request_id: key, epoch: String(epoch) });
      try {
        const res = await c.internal(`${c.replica(replica)}/trade?${q}`, { timeoutMs: 10000 });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) acked.push({ key, order_no: res.body.order_no, ...order, at: Date.now() });
        else if (!messages.has(res.status)) messages.set(res.status, res.text.slice(0, 200));
      } catch (e) {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        if (!messages.has(0)) messages.set(0, String(e));
      }
      await delay(5);
    }
  };
  const done = Promise.all(Array.from({ length: sessions }, session));
  return {
    acked,
    statuses,
    async stop() {
      stopping = true;
      await done;
      return { acked, statuses, messages };
    },
  };
}

export interface LatencyRow {
  setting: string;
  trade: { p50: number; p99: number; n: number };
  lookup: { p50: number; p99: number; n: number };
  orderLookup: { p50: number; p99: number; n: number };
}

/** One request on a keep-alive connection; resolves with its status and body once read. */
function timed(agent: Agent, url: string, method: 'GET' | 'POST', body?: object, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
    const started = process.hrtime.bigint();
    const payload = body ? JSON.stringify(body) : undefined;
    const req = request(url, { method, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) }, timeout: 30000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Closed-loop latency through the front end at `url`, one session: `trades` trades (one share,
 * buy and sell alternating over the ten stocks), then `lookups` stock lookups (mostly cache hits)
 * and as many order lookups. Throws on any answer other than 200, so a figure never hides errors.
 */
export async function measureLatency(setting: string, url: string, trades = 40, lookups = 100): Promise<LatencyRow & { acked: AckedOrder[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const hist = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const [t, l, o] = [hist(), hist(), hist()];
  const acked: AckedOrder[] = [];
  const run = `lat-${Date.now()}`;
  try {
    for (let i = 0; i < trades; i++) {
      const order = { stock_name: `Stock${(i % 10) + 1}`, trade_type: Math.floor(i / 10) % 2 === 0 ? 'buy' : 'sell', quantity: 1 };
      const key = `${run}-${i}`;
      const res = await timed(agent, `${url}/orders`, 'POST', order, { 'Idempotency-Key': key });
      if (res.status !== 200) throw new Error(`${setting}: trade answered ${res.status} ${res.body}`);
      acked.push({ key, order_no: JSON.parse(res.body).order_no, ...order });
      t.recordValue(Math.round(res.ms * 1000));
    }
    for (let i = 0; i < lookups; i++) {
      const res = await timed(agent, `${url}/stocks?stock_name=Stock${(i % 10) + 1}`, 'GET');
      if (res.status !== 200) throw new Error(`${setting}: lookup answered ${res.status} ${res.body}`);
      l.recordValue(Math.round(res.ms * 1000));
    }
    for (let i = 0; i < lookups; i++) {
      const res = await timed(agent, `${url}/orders?order_no=${acked[i % acked.length].order_no}`, 'GET');
      if (res.status !== 200) throw new Error(`${setting}: order lookup answered ${res.status} ${res.body}`);
      o.recordValue(Math.round(res.ms * 1000));
    }
  } finally {
    agent.destroy();
  }
  const summary = (h: ReturnType<typeof hist>) => ({ p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, n: h.totalCount });
  return { setting, trade: summary(t), lookup: summary(l), orderLookup: summary(o), acked };
}

/** The latency rows as a Markdown table (milliseconds). */
export function latencyTable(rows: LatencyRow[]): string {
  const f = (x: { p50: number; p99: number }) => `${x.p50.toFixed(1)} / ${x.p99.toFixed(1)}`;
  return [
    '| setting | trade p50 / p99 (ms) | stock lookup p50 / p99 (ms) | order lookup p50 / p99 (ms) |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.setting} | ${f(r.trade)} | ${f(r.lookup)} | ${f(r.orderLookup)} |`),
  ].join('\n');
}
