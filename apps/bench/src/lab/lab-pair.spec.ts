import type { LoadResult } from '@app/loadgen';
import { formatLabPairs, pairRatios, phaseFigures, summarizePairs, type LabPairRound, type LabSide } from './lab-figures';
import { parseEnvAssignment, parseNodeArgs } from './variant';

/** A load of 100 trades with this p50 and this much bazaar CPU (ms, over the whole load). */
function load(name: 'cold' | 'warm', p50: number, cpuMs: number | null, passed = true) {
  const latency = { count: 100, mean_ms: p50, p50_ms: p50, p90_ms: p50, p99_ms: p50, max_ms: p50 };
  const result = { requests: { trade: { count: 100, latency_ms: latency }, lookup: { count: 200, latency_ms: latency } }, trades: { ok: 100 }, passed } as unknown as LoadResult;
  return phaseFigures(name, result, cpuMs === null ? null : { frontend: cpuMs });
}

const side = (cold: number, warm: number, coldCpu: number | null = 400, warmCpu: number | null = 300): LabSide => ({
  cold: load('cold', cold, coldCpu),
  warm: load('warm', warm, warmCpu),
  command_line: ['/usr/bin/node', 'main.js'],
});

function round(n: number, baseline: LabSide, variant: LabSide): LabPairRound {
  return { round: n, baseline, variant, ratios: pairRatios(baseline, variant) };
}

describe('bench:lab with a variant', () => {
  it('takes each ratio within its round, variant ÷ baseline, to 4 places', () => {
    expect(pairRatios(side(10, 8), side(9, 6, 300, 330))).toEqual({
      cold_trade_p50: 0.9,
      warm_trade_p50: 0.75,
      cold_cpu_per_trade: 0.75,
      warm_cpu_per_trade: 1.1,
    });
    expect(pairRatios(side(3, 7), side(1, 1)).cold_trade_p50).toBe(0.3333);
  });

  it('leaves a ratio out when either side lacks its figure', () => {
    const none: LabSide = { cold: null, warm: null, command_line: null };
    expect(pairRatios(none, side(9, 6))).toEqual({ cold_trade_p50: null, warm_trade_p50: null, cold_cpu_per_trade: null, warm_cpu_per_trade: null });
    expect(pairRatios(side(10, 8, null, 300), side(9, 6)).cold_cpu_per_trade).toBeNull();
  });

  it("summarizes the rounds' ratios, not the ratio of the sides' medians", () => {
    // The host's speed changes between rounds: each side's median would mix them.
    const rounds = [round(1, side(10, 5), side(9, 5)), round(2, side(20, 10), side(16, 11)), round(3, side(8, 4), side(8, 3))];
    const summary = summarizePairs(rounds);
    expect(summary.median).toEqual({ cold_trade_p50: 0.9, warm_trade_p50: 1, cold_cpu_per_trade: 1, warm_cpu_per_trade: 1 });
    expect(summary.low.cold_trade_p50).toBe(0.8);
    expect(summary.high.cold_trade_p50).toBe(1);
    expect(summary.low.warm_trade_p50).toBe(0.75);
    expect(summary.high.warm_trade_p50).toBe(1.1);
    expect(summarizePairs([]).median.cold_trade_p50).toBeNull();
  });

  it('prints a row per round and load with both sides and their ratio, then the medians', () => {
    const rounds = [round(1, side(10, 8), side(9, 6)), round(2, { ...side(10, 8), warm: null }, side(9, 6))];
    const text = formatLabPairs(rounds, summarizePairs(rounds));
    expect(text).toContain('| 1 | cold | 10.00 | 9.00 | 0.9000 | 4.000 | 4.000 | 1.0000 | yes |');
    expect(text).toContain('| 1 | warm | 8.00 | 6.00 | 0.7500 | 3.000 | 3.000 | 1.0000 | yes |');
    expect(text).toContain('| 2 | warm | - | 6.00 | - | - | 3.000 | - | NO |');
    expect(text).toMatch(/variant ÷ baseline, medians of 2 round\(s\), both clusters loaded at once: cold trade p50 0\.9000 \(rounds 0\.9000–0\.9000\), warm 0\.7500 /);
  });

  it('marks a round whose load failed its read-back', () => {
    const failed: LabSide = { ...side(10, 8), cold: load('cold', 10, 400, false) };
    expect(formatLabPairs([round(1, failed, side(9, 6))], summarizePairs([]))).toContain('| 1 | cold | 10.00 | 9.00 | 0.9000 | 4.000 | 4.000 | 1.0000 | NO |');
  });

  it('reads --variant-env as KEY=VALUE, the value possibly empty or holding "="', () => {
    expect(parseEnvAssignment('SPARE_SYNC_ENTRIES=0')).toEqual(['SPARE_SYNC_ENTRIES', '0']);
    expect(parseEnvAssignment('X=')).toEqual(['X', '']);
    expect(parseEnvAssignment('TOKEN=a=b')).toEqual(['TOKEN', 'a=b']);
    for (const bad of ['', '=1', 'NOVALUE', '1X=2', 'A B=1']) expect(() => parseEnvAssignment(bad)).toThrow(/expected KEY=VALUE/);
  });

  it("reads --variant-node-args as node's options, refusing a word node would take for the script", () => {
    expect(parseNodeArgs(' --maglev  --max-semi-space-size=16 ')).toEqual(['--maglev', '--max-semi-space-size=16']);
    expect(parseNodeArgs('')).toEqual([]);
    expect(() => parseNodeArgs('--stack-size 2000')).toThrow(/"2000" is not one/);
  });
});
