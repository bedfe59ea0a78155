import type { CacheStats } from '@app/contracts';
import type { LoadResult } from '@app/loadgen';
import { cacheFigures, formatLab, phaseFigures, restockTrades, summarize, type LabPhase, type LabRound } from './lab-figures';

/** The parts of a client `--json` result the lab reads. */
function result(trade: { count: number; p50: number | null }, ok: number, passed = true): LoadResult {
  const latency = (count: number, p50: number | null) => ({ count, mean_ms: p50, p50_ms: p50, p90_ms: p50 === null ? null : p50 * 2, p99_ms: p50 === null ? null : p50 * 3, max_ms: p50 });
  return {
    requests: {
      trade: { count: trade.count, latency_ms: latency(trade.count, trade.p50) },
      lookup: { count: 2 * trade.count, latency_ms: latency(2 * trade.count, 0.5) },
    },
    trades: { ok },
    passed,
  } as unknown as LoadResult;
}

const phase = (name: 'cold' | 'warm', p50: number | null): LabPhase => ({ ...phaseFigures(name, result({ count: 10, p50 }, 9), null) });

describe('the lab bench figures', () => {
  it('takes a load\'s trade and lookup figures from the client\'s result, and the CPU per trade sent', () => {
    const figures = phaseFigures('cold', result({ count: 400, p50: 9.5 }, 380), { frontend: 800, catalog: 401, 'order-3': 600 });
    expect(figures).toEqual({
      phase: 'cold',
      trades: 400,
      trades_ok: 380,
      trade_p50_ms: 9.5,
      trade_p90_ms: 19,
      trade_p99_ms: 28.5,
      lookups: 800,
      lookup_p50_ms: 0.5,
      passed: true,
      cpu_ms_per_trade: { frontend: 2, catalog: 1.003, 'order-3': 1.5 },
      cpu_ms_per_trade_total: 4.503,
      cache: null,
    });
  });

  it("takes the front end's cache figures per trade sent from its stats before and after the load", () => {
    const stats = (hits: number, misses: number, offers_taken: number): CacheStats => ({
      enabled: true,
      capacity: 100,
      size: 10,
      hits,
      misses,
      evictions: 0,
      invalidations: 0,
      stale_fills_dropped: 0,
      offers_taken,
    });
    const figures = phaseFigures('cold', result({ count: 400, p50: 9.5 }, 380), null, { before: stats(10, 10, 0), after: stats(710, 110, 300) });
    expect(figures.cache).toEqual({ misses_per_trade: 0.25, offers_taken_per_trade: 0.75, hit_ratio: 0.875 });
    expect(cacheFigures(stats(10, 10, 0), stats(10, 10, 0), 0)).toEqual({ misses_per_trade: null, offers_taken_per_trade: null, hit_ratio: null });
    expect(cacheFigures(null, stats(1, 1, 1), 10)).toBeNull();
    expect(cacheFigures(stats(50, 5, 5), stats(1, 1, 1), 10)).toBeNull(); // the front end restarted in between
  });

  it('has no CPU per trade when a process could not be read, or when no trade was sent', () => {
    expect(phaseFigures('warm', result({ count: 400, p50: 9.5 }, 380), null).cpu_ms_per_trade).toBeNull();
    const none = phaseFigures('warm', result({ count: 0, p50: null }, 0), { frontend: 800 });
    expect(none).toMatchObject({ trades: 0, trade_p50_ms: null, cpu_ms_per_trade: null, cpu_ms_per_trade_total: null });
  });

  it('sells each stock below the target back up to it, and leaves the others alone', () => {
    expect(restockTrades({ Stock1: 0, Stock2: 100, Stock3: 63, Stock4: 120 }, 100)).toEqual([
      { stock_name: 'Stock1', trade_type: 'sell', quantity: 100 },
      { stock_name: 'Stock3', trade_type: 'sell', quantity: 37 },
    ]);
    expect(restockTrades({}, 100)).toEqual([]);
  });

  it('takes the medians over the rounds, the ratio only from rounds that have both loads', () => {
    const rounds: LabRound[] = [
      { round: 1, cold: phase('cold', 12), warm: phase('warm', 6) },
      { round: 2, cold: phase('cold', 10), warm: phase('warm', 8) },
      { round: 3, cold: phase('cold', 14), warm: null },
    ];
    expect(summarize(rounds)).toEqual({ cold_trade_p50_ms: 12, warm_trade_p50_ms: 7, warm_to_cold_p50: 0.65 });
    expect(summarize([])).toEqual({ cold_trade_p50_ms: null, warm_trade_p50_ms: null, warm_to_cold_p50: null });
  });

  it('prints a row per load, the medians, and the target\'s verdict for each', () => {
    const rounds: LabRound[] = [{ round: 1, cold: phase('cold', 12.5), warm: { ...phase('warm', 6), passed: false } }];
    const text = formatLab(rounds, summarize(rounds), 10);
    expect(text).toContain('| 1 | cold | 10 (9) | 12.50 | 25.00 | 37.50 | 20 | 0.50 | - | - | - | yes |');
    expect(text).toContain('| 1 | warm | 10 (9) | 6.00 | 12.00 | 18.00 | 20 | 0.50 | - | - | - | NO |');
    const cached = formatLab([{ round: 2, cold: { ...phase('cold', 9), cache: { misses_per_trade: 0.25, offers_taken_per_trade: 0.7, hit_ratio: 0.875 } }, warm: null }], summarize([]), 10);
    expect(cached).toContain('| 2 | cold | 10 (9) | 9.00 | 18.00 | 27.00 | 20 | 0.50 | 0.250 | 0.875 | - | yes |');
    expect(text).toContain('trade p50 12.50 ms on a freshly started bazaar, 6.00 ms on the same processes after it (warm ÷ cold 0.480)');
    expect(text).toContain('target: the lab\'s trade p50 ≤ 10 ms — cold not met, warm met');
    expect(formatLab([], summarize([]), 10)).toContain('cold not measured, warm not measured');
  });
});
