import { jest } from '@jest/globals';
import type { CacheStats, OrderInfo, StockInfo } from '@app/contracts';
import type { FetchLike } from '../http/bazaar-client';
import { UsageError } from '../usage-error';
import { formatSweepReport } from './sweep-report';
import { cacheDelta, hitRatio, runSweep } from './sweep-runner';

interface FakeOptions {
  cacheEnabled?: boolean;
  /** Status for GET /cache/stats instead of the stats (e.g. 404 for a front end without it). */
  statsStatus?: number;
  /** How many stocks (Stock1, Stock2, …) start sold out. */
  soldOut?: number;
}

/** An in-memory bazaar with a cache in front of it (hits, misses, invalidations), behind a fake `fetch`. */
function fakeBazaar(options: FakeOptions = {}) {
  const enabled = options.cacheEnabled ?? true;
  const stocks = new Map<string, StockInfo>();
  for (let i = 1; i <= 10; i++) stocks.set(`Stock${i}`, { stock_name: `Stock${i}`, price: 9.99 * i, trade_volume: 0, quantity: i <= (options.soldOut ?? 0) ? 0 : 100 });
  const cached = new Set<string>();
  const stats: CacheStats = { enabled, capacity: 100, size: 0, hits: 0, misses: 0, evictions: 0, invalidations: 0, stale_fills_dropped: 0, offers_taken: 0 };
  const orders = new Map<number, OrderInfo>();
  const calls: string[] = [];
  let lastNo = 0;
  const reply = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status });

  const fetchImpl: FetchLike = async (input, init) => {
    const url = new URL(input);
    calls.push(`${init.method} ${url.pathname}`);
    if (url.pathname === '/cache/stats') {
      if (options.statsStatus !== undefined) return reply(options.statsStatus, { error: { code: options.statsStatus, message: 'Cannot GET /cache/stats' } });
      return reply(200, { ...stats, size: cached.size });
    }
    if (init.method === 'GET' && url.pathname === '/stocks') {
      const name = url.searchParams.get('stock_name') ?? '';
      const s = stocks.get(name);
      if (!s) return reply(404, { error: { code: 404, message: 'Stock not found' } });
      if (enabled) {
        if (cached.has(name)) stats.hits++;
        else {
          stats.misses++;
          cached.add(name);
        }
      }
      return reply(200, { ...s });
    }
    if (init.method === 'POST' && url.pathname === '/orders') {
      const body = JSON.parse(String(init.body)) as { stock_name: string; trade_type: string; quantity: number };
      const stock = stocks.get(body.stock_name)!;
      const buy = body.trade_type.toLowerCase() === 'buy';
      if (buy ? stock.quantity < body.quantity : stock.quantity + body.quantity > 100) return reply(409, { order_no: -1, message: 'Trade failed!' });
      stock.quantity += buy ? -body.quantity : body.quantity;
      stock.trade_volume += body.quantity;
      stats.invalidations++;
      cached.delete(body.stock_name);
      const no = ++lastNo;
      orders.set(no, { order_no: no, ...body });
      return reply(200, { order_no: no });
    }
    if (init.method === 'GET' && url.pathname === '/orders') {
      const o = orders.get(Number(url.searchParams.get('order_no')));
      return o ? reply(200, { data: o }) : reply(404, { error: { code: 404, message: 'order not found' } });
    }
    return reply(404, { error: { code: 404, message: 'no route' } });
  };
  return { fetchImpl: jest.fn(fetchImpl), stats, calls };
}

describe('runSweep', () => {
  it('runs one load run per p, in order, and reads the cache stats before and after each', async () => {
    const bazaar = fakeBazaar();
    const started: number[] = [];
    const result = await runSweep({
      ps: [0, 0.5, 1],
      sessions: 2,
      iterations: 40,
      seed: 11,
      fetchImpl: bazaar.fetchImpl,
      onRunStart: (_i, p) => started.push(p),
    });

    expect(started).toEqual([0, 0.5, 1]);
    expect(result.points.map((pt) => pt.p)).toEqual([0, 0.5, 1]);
    expect(result.config).toMatchObject({ sessions: 2, ps: [0, 0.5, 1], iterations: 40, duration_s: null, seed: 11 });
    expect(result.cache_enabled).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(result.passed).toBe(true);
    expect(result.interrupted).toBe(false);

    for (const point of result.points) {
      expect(point.result.config.p).toBe(point.p);
      expect(point.result.config.seed).toBe(point.seed);
      expect(point.result.requests.lookup.count).toBe(80);
      // Every lookup is a hit or a miss, so the counters' change adds up to the lookups.
      expect(point.cache_delta!.hits + point.cache_delta!.misses).toBe(80);
      expect(point.cache_delta!.invalidations).toBe(point.result.trades.ok);
      expect(point.hit_ratio).toBeCloseTo(point.cache_delta!.hits / 80, 4);
    }
    // p = 0 after a warm cache: only the first lookup of each stock can miss.
    expect(result.points[0].result.trades.attempted).toBe(0);
    expect(result.points[0].cache_delta!.misses).toBeLessThanOrEqual(10);
    // More trades, more invalidations, fewer hits.
    expect(result.points[2].hit_ratio!).toBeLessThan(result.points[0].hit_ratio!);

    // The stats were read around every run: before run 1, after run 1, before run 2 …
    const statsCalls = bazaar.calls.filter((c) => c === 'GET /cache/stats');
    expect(statsCalls).toHaveLength(6);
    expect(bazaar.calls[0]).toBe('GET /cache/stats');
    expect(bazaar.calls[bazaar.calls.length - 1]).toBe('GET /cache/stats');
  });

  it('fills the table with the figures of each run', async () => {
    const bazaar = fakeBazaar();
    const result = await runSweep({ ps: [0.4], sessions: 1, iterations: 30, seed: 3, fetchImpl: bazaar.fetchImpl });
    const [row] = result.table;
    const r = result.points[0].result;
    expect(row).toEqual({
      p: 0.4,
      cache: 'on',
      lookups: 30,
      lookup_mean_ms: r.requests.lookup.latency_ms.mean_ms,
      lookup_p50_ms: r.requests.lookup.latency_ms.p50_ms,
      lookup_p90_ms: r.requests.lookup.latency_ms.p90_ms,
      lookup_p99_ms: r.requests.lookup.latency_ms.p99_ms,
      trades: r.requests.trade.count,
      trade_mean_ms: r.requests.trade.latency_ms.mean_ms,
      trade_p50_ms: r.requests.trade.latency_ms.p50_ms,
      trade_p90_ms: r.requests.trade.latency_ms.p90_ms,
      trade_p99_ms: r.requests.trade.latency_ms.p99_ms,
      throughput_rps: r.load_total.throughput_rps,
      hit_ratio: result.points[0].hit_ratio,
      trades_ok: r.trades.ok,
      trades_refused: r.trades.refused,
      errors: 0,
      passed: true,
    });
    const report = formatSweepReport(result);
    expect(report).toContain('p = 0.4');
    expect(report).toContain('cache on');
    expect(report).toMatch(/result: PASS\n$/);
  });

  it('gives the same runs the same seeds for the same sweep seed, whatever the p', async () => {
    const a = await runSweep({ ps: [0, 0.2], iterations: 5, seed: 42, fetchImpl: fakeBazaar().fetchImpl });
    const b = await runSweep({ ps: [0.6, 0.8], iterations: 5, seed: 42, fetchImpl: fakeBazaar().fetchImpl });
    expect(a.points.map((p) => p.seed)).toEqual(b.points.map((p) => p.seed));
    expect(a.points[0].seed).not.toBe(a.points[1].seed);
  });

  it('reports no hit ratio with the cache off', async () => {
    const result = await runSweep({ ps: [0, 0.8], iterations: 10, seed: 1, fetchImpl: fakeBazaar({ cacheEnabled: false }).fetchImpl });
    expect(result.cache_enabled).toBe(false);
    expect(result.points.map((p) => p.hit_ratio)).toEqual([null, null]);
    expect(result.table.map((r) => r.cache)).toEqual(['off', 'off']);
    expect(result.passed).toBe(true);
  });

  it('warns about a run in which many lookups found their stock sold out, and so traded less than p', async () => {
    const result = await runSweep({ ps: [0, 0.2, 0.8], iterations: 20, seed: 3, fetchImpl: fakeBazaar({ soldOut: 8 }).fetchImpl });
    expect(result.warnings).toEqual([
      expect.stringMatching(/^p=0\.2: \d+ % of lookups found their stock sold out and tried no trade/),
      expect.stringMatching(/^p=0\.8: \d+ % of lookups found their stock sold out and tried no trade/),
    ]);
    expect(result.passed).toBe(true);
    const fine = await runSweep({ ps: [0.8], iterations: 20, seed: 3, fetchImpl: fakeBazaar().fetchImpl });
    expect(fine.warnings).toEqual([]);
  });

  it('goes on without hit ratios, with a warning, when the front end has no /cache/stats', async () => {
    const result = await runSweep({ ps: [0.2], iterations: 5, seed: 1, fetchImpl: fakeBazaar({ statsStatus: 404 }).fetchImpl });
    expect(result.points[0]).toMatchObject({ cache_before: null, cache_after: null, cache_delta: null, hit_ratio: null });
    expect(result.cache_enabled).toBeNull();
    expect(result.table[0].cache).toBe('unknown');
    expect(result.warnings).toEqual([
      'GET /cache/stats before p=0.2 failed: HTTP 404 Cannot GET /cache/stats',
      'GET /cache/stats after p=0.2 failed: HTTP 404 Cannot GET /cache/stats',
    ]);
    expect(result.passed).toBe(true);
  });

  it('stops after the run under way when aborted, and says so', async () => {
    const bazaar = fakeBazaar();
    const controller = new AbortController();
    let lookups = 0;
    const fetchImpl: FetchLike = async (input, init) => {
      if (new URL(input).pathname === '/stocks' && ++lookups === 50) controller.abort();
      return bazaar.fetchImpl(input, init);
    };
    const result = await runSweep({ ps: [0, 0.2, 0.4], iterations: 1000, seed: 1, fetchImpl, signal: controller.signal });
    expect(result.points).toHaveLength(1);
    expect(result.points[0].result.interrupted).toBe(true);
    expect(result.interrupted).toBe(true);
    expect(result.passed).toBe(false);
  });

  it('rejects bad options before sending anything', async () => {
    const bazaar = fakeBazaar();
    await expect(runSweep({ ps: [], fetchImpl: bazaar.fetchImpl })).rejects.toThrow('--p must list between 1 and 101 probabilities (got 0)');
    await expect(runSweep({ ps: [0, 1.2], fetchImpl: bazaar.fetchImpl })).rejects.toThrow(UsageError);
    await expect(runSweep({ sessions: 0, fetchImpl: bazaar.fetchImpl })).rejects.toThrow(/--sessions/);
    await expect(runSweep({ iterations: 5, durationS: 1, fetchImpl: bazaar.fetchImpl })).rejects.toThrow(/cannot be used together/);
    expect(bazaar.fetchImpl).not.toHaveBeenCalled();
  });
});

describe('cache arithmetic', () => {
  const stats = (hits: number, misses: number, enabled = true): CacheStats => ({
    enabled,
    capacity: 100,
    size: 3,
    hits,
    misses,
    evictions: 0,
    invalidations: 2,
    stale_fills_dropped: 0,
    offers_taken: 0,
  });

  it('takes the counters’ change and the ratio of hits', () => {
    const delta = cacheDelta(stats(10, 5), stats(40, 15));
    expect(delta).toEqual({ hits: 30, misses: 10, evictions: 0, invalidations: 0, stale_fills_dropped: 0 });
    expect(hitRatio(delta, true)).toBe(0.75);
  });

  it('has no ratio when a counter went back (restart), nothing was counted, or the cache is off', () => {
    expect(cacheDelta(stats(10, 5), stats(3, 1))).toBeNull();
    expect(cacheDelta(null, stats(3, 1))).toBeNull();
    expect(hitRatio(cacheDelta(stats(1, 1), stats(1, 1)), true)).toBeNull();
    expect(hitRatio(cacheDelta(stats(0, 0, false), stats(0, 0, false)), false)).toBeNull();
  });
});
