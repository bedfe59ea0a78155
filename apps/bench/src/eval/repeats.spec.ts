import type { SweepRow } from '@app/loadgen';
import { aggregateRuns, median, type RunRow } from './repeats';

function run(p: number, cache: 'on' | 'off', repeat: number, over: Partial<SweepRow> = {}): RunRow {
  return {
    p,
    cache,
    lookups: 1000,
    lookup_mean_ms: 1,
    lookup_p50_ms: 0.8,
    lookup_p90_ms: 2,
    lookup_p99_ms: 5,
    trades: p === 0 ? 0 : 100,
    trade_mean_ms: p === 0 ? null : 36,
    trade_p50_ms: p === 0 ? null : 30,
    trade_p90_ms: p === 0 ? null : 50,
    trade_p99_ms: p === 0 ? null : 90,
    throughput_rps: 500,
    hit_ratio: cache === 'on' ? 0.9 : null,
    trades_ok: 80,
    trades_refused: 20,
    errors: 0,
    passed: true,
    repeat,
    ...over,
  };
}

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([70, 30, 36])).toBe(36);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNull();
  });
});

describe('aggregateRuns', () => {
  it('gives a row per cache state and p: medians, the lowest and highest run, errors summed', () => {
    const runs = [
      run(0.2, 'on', 0, { trade_mean_ms: 70, lookups: 900, throughput_rps: 300, errors: 1, passed: false }),
      run(0.2, 'off', 0),
      run(0, 'on', 0),
      run(0.2, 'on', 1, { trade_mean_ms: 36, lookups: 1000, throughput_rps: 520 }),
      run(0.2, 'on', 2, { trade_mean_ms: 33, lookups: 1100, throughput_rps: 510, errors: 2 }),
    ];
    const rows = aggregateRuns(runs);
    expect(rows.map((r) => `${r.cache} ${r.p} ×${r.repeats}`)).toEqual(['on 0 ×1', 'on 0.2 ×3', 'off 0.2 ×1']);
    const row = rows[1];
    expect(row).toMatchObject({ trade_mean_ms: 36, lookups: 1000, throughput_rps: 510, errors: 3, passed: false, repeats: 3 });
    expect(row.spread?.trade_mean_ms).toEqual({ min: 33, max: 70 });
    expect(row.spread?.throughput_rps).toEqual({ min: 300, max: 520 });
    expect(row.spread?.hit_ratio).toEqual({ min: 0.9, max: 0.9 });
  });

  it('leaves a figure no run measured null, without spread', () => {
    const [row] = aggregateRuns([run(0, 'off', 0), run(0, 'off', 1)]);
    expect(row.trade_mean_ms).toBeNull();
    expect(row.hit_ratio).toBeNull();
    expect(row.spread?.trade_mean_ms).toBeUndefined();
    expect(row.spread?.hit_ratio).toBeUndefined();
    expect(row.spread?.lookup_mean_ms).toEqual({ min: 1, max: 1 });
  });

  it('leaves out of a median the runs that did not measure the figure', () => {
    const [row] = aggregateRuns([run(0.2, 'on', 0, { trade_mean_ms: null }), run(0.2, 'on', 1, { trade_mean_ms: 40 }), run(0.2, 'on', 2, { trade_mean_ms: 50 })]);
    expect(row.trade_mean_ms).toBe(45);
    expect(row.spread?.trade_mean_ms).toEqual({ min: 40, max: 50 });
  });
});
