import { cpuPerTrade, formatCompareTable, pairOrder, ratioOf, summarizePairs, summarizeRounds, type CompareRound } from './paired';

describe('pairOrder', () => {
  it('alternates which build goes first, ABBA, so that each goes first in half the pairs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pairOrder(i)[0])).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
    for (let i = 0; i < 8; i++) expect([...pairOrder(i)].sort()).toEqual([0, 1]);
  });
});

describe('summarizePairs', () => {
  it('gives each build its median and the median of the per-pair ratios', () => {
    const s = summarizePairs([
      { baseline: 10, current: 5 },
      { baseline: 10, current: 8 },
      { baseline: 4, current: 6 },
    ]);
    expect(s).toEqual({ pairs: 3, baseline_p50_ms: 10, current_p50_ms: 6, median_pair_ratio: 0.8, current_faster_share: 0.667 });
  });

  it('reports nothing rather than a ratio without pairs, and leaves out pairs with a missing time', () => {
    expect(summarizePairs([])).toEqual({ pairs: 0, baseline_p50_ms: null, current_p50_ms: null, median_pair_ratio: null, current_faster_share: null });
    expect(summarizePairs([{ baseline: 0, current: 3 }, { baseline: 2, current: 1 }]).pairs).toBe(1);
  });
});

describe('ratios', () => {
  it('divides this build by the baseline, and has none without both figures', () => {
    expect(ratioOf(3, 2)).toBe(1.5);
    expect(ratioOf(null, 2)).toBeNull();
    expect(ratioOf(3, 0)).toBeNull();
    expect(cpuPerTrade(1000, 400)).toBe(2.5);
    expect(cpuPerTrade(null, 400)).toBeNull();
    expect(cpuPerTrade(1000, 0)).toBeNull();
  });
});

function round(c1Ratio: number, throughput: number): CompareRound {
  return {
    c1: {
      pairs: 100,
      baseline_p50_ms: 10,
      current_p50_ms: 10 * c1Ratio,
      median_pair_ratio: c1Ratio,
      current_faster_share: c1Ratio < 1 ? 0.7 : 0.3,
      baseline_cpu_ms_per_trade: 4,
      current_cpu_ms_per_trade: 3,
      non_2xx: 0,
    },
    loaded: {
      connections: 10,
      baseline_requests_per_s: 100,
      current_requests_per_s: 100 * throughput,
      throughput_ratio: throughput,
      baseline_p50_ms: 20,
      current_p50_ms: 18,
      baseline_cpu_ms_per_trade: 2,
      current_cpu_ms_per_trade: 1,
      non_2xx: 0,
    },
  };
}

describe('summarizeRounds and the table', () => {
  it('takes the median of each ratio over the rounds', () => {
    const rounds = [round(0.9, 1.2), round(1.1, 1.0), round(0.8, 1.1)];
    expect(summarizeRounds(rounds)).toEqual({ c1_median_pair_ratio: 0.9, c1_current_faster_share: 0.7, c1_cpu_ratio: 0.75, loaded_throughput_ratio: 1.1, loaded_cpu_ratio: 0.5 });
  });

  it('prints a row per round and the medians, each ratio being this build over the baseline', () => {
    const rounds = [round(0.9, 1.2)];
    const text = formatCompareTable(rounds, summarizeRounds(rounds));
    expect(text).toContain('| 1 | 10 / 9 | 0.9 | 70 % | 4 / 3 | 100 / 120 | 1.2 | 2 / 1 |');
    expect(text).toContain('10 conn. req/s baseline / this');
    expect(text).toMatch(/medians over 1 round\(s\), this build \/ the baseline: 1 connection p50 0\.9 \(faster in 70 % of pairs\), CPU per trade 0\.75; 10 connections throughput 1\.2, CPU per trade 0\.5/);
  });
});
