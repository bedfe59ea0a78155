/**
 * The benchmark's scenarios, in the order they run: the adapter's ceiling first (for reference),
 * then each ceiling just before the first scenario compared to it, so that the machine's drift
 * between the two is as small as a round allows.
 */
export const SCENARIOS = [
  {
    name: 'ceiling-adapter',
    description:
      "the same bare app on the bazaar's Express adapter (requests and responses born with Express's prototypes): what the adapter alone is worth",
    request: 'GET /',
    server: 'ceiling-adapter',
    fixedConnections: null,
    ceiling: 'ceiling',
  },
  {
    name: 'ceiling',
    description: 'bare NestJS (platform-express) app, GET / → constant JSON',
    request: 'GET /',
    server: 'ceiling',
    fixedConnections: null,
    ceiling: null,
  },
  {
    name: 'lookup-cached',
    description: 'stock lookup served from the front end cache',
    request: 'GET /stocks?stock_name=Stock1',
    server: 'cache-on',
    fixedConnections: null,
    ceiling: 'ceiling',
  },
  {
    name: 'ceiling-c5',
    description: 'the same ceiling at 5 connections',
    request: 'GET /',
    server: 'ceiling',
    fixedConnections: 5,
    ceiling: null,
  },
  {
    name: 'ceiling-adapter-c5',
    description:
      "the bare app on the bazaar's adapter at 5 connections: the floor under the cached lookup's p99 at 5 connections (NestJS and Express on this machine, doing nothing else)",
    request: 'GET /',
    server: 'ceiling-adapter',
    fixedConnections: 5,
    ceiling: 'ceiling-c5',
  },
  {
    name: 'lookup-cached-c5',
    description: 'cached lookup at 5 connections (target: p99 ≤ 1 ms under 5 sessions)',
    request: 'GET /stocks?stock_name=Stock1',
    server: 'cache-on',
    fixedConnections: 5,
    ceiling: 'ceiling-c5',
  },
  {
    name: 'order-lookup',
    description: 'order lookup, forwarded to the order leader',
    request: 'GET /orders?order_no=1',
    server: 'cache-on',
    fixedConnections: null,
    ceiling: 'ceiling',
  },
  {
    name: 'trade',
    description: 'trade: leader, catalog, cache invalidation, majority replication (buy/sell 1 share alternately over Stock1…10)',
    request: 'POST /orders',
    server: 'cache-on',
    fixedConnections: null,
    ceiling: 'ceiling',
  },
  {
    name: 'trade-c1',
    description: 'one trade at a time (1 connection): the trade path\'s latency with nothing to share its hops with',
    request: 'POST /orders',
    server: 'cache-on',
    fixedConnections: 1,
    ceiling: null,
  },
  {
    name: 'ceiling-c64',
    description: 'the same ceiling at 64 connections (for trade-c64)',
    request: 'GET /',
    server: 'ceiling',
    fixedConnections: 64,
    ceiling: null,
  },
  {
    name: 'trade-c64',
    description:
      'the trade path at 64 connections: each forward to the leader carries a batch of trades, and the batches grow with the connections, so the same CPU makes more trades durable (at 10 connections the cores are already ~90 % busy, at a few ms of CPU per trade)',
    request: 'POST /orders',
    server: 'cache-on',
    fixedConnections: 64,
    ceiling: 'ceiling-c64',
  },
  {
    name: 'lookup-uncached',
    description: 'stock lookup with the cache off (front end restarted with CACHE_ENABLED=false): front end → catalog → SQLite',
    request: 'GET /stocks?stock_name=Stock1',
    server: 'cache-off',
    fixedConnections: null,
    ceiling: 'ceiling',
  },
] as const;

export type ScenarioName = (typeof SCENARIOS)[number]['name'];
export type Scenario = (typeof SCENARIOS)[number];

/** The ceiling apps, by the scenario `server` that names them: Nest's own adapter, or the bazaar's. */
export const CEILING_ADAPTERS = { ceiling: 'nest', 'ceiling-adapter': 'bazaar' } as const;
export type CeilingServer = keyof typeof CEILING_ADAPTERS;

export function isCeiling(scenario: Scenario): scenario is Extract<Scenario, { server: CeilingServer }> {
  return scenario.server in CEILING_ADAPTERS;
}

export const SCENARIO_NAMES: readonly ScenarioName[] = SCENARIOS.map((s) => s.name);

/**
 * The scenarios to run for `--only a,b` (all when absent), in the standard order, with the
 * ceilings they are compared to. Throws with the list of names on an unknown one.
 */
export function selectScenarios(only: readonly string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return [...SCENARIOS];
  const unknown = only.filter((n) => !SCENARIO_NAMES.includes(n as ScenarioName));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: choose from ${SCENARIO_NAMES.join(', ')}`);
  const wanted = new Set<string>(only);
  for (const s of SCENARIOS) if (wanted.has(s.name) && s.ceiling) wanted.add(s.ceiling);
  return SCENARIOS.filter((s) => wanted.has(s.name));
}

/** How many stocks the trade scenarios go round: Stock1…Stock10. */
export const TRADED_STOCKS = 10;

/** Request n of the trade scenario: pairs of buy then sell of 1 share, the pairs going round Stock1…Stock10. */
export function tradeBody(n: number): string {
  const stock = `Stock${(Math.floor(n / 2) % TRADED_STOCKS) + 1}`;
  return JSON.stringify({ stock_name: stock, trade_type: n % 2 === 0 ? 'buy' : 'sell', quantity: 1 });
}

export interface Figures {
  requests_per_s: number;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
}

/** scenario / ceiling throughput, 3 decimals; null without a ceiling figure. */
export function ratio(value: number, ceiling: number | undefined): number | null {
  if (ceiling === undefined || ceiling <= 0) return null;
  return Math.round((value / ceiling) * 1000) / 1000;
}

/** The median of a list (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
