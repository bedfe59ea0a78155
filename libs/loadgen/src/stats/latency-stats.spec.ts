import { LatencyStats } from './latency-stats';

describe('LatencyStats', () => {
  it('reports nulls when nothing was recorded', () => {
    expect(new LatencyStats().summary()).toEqual({ count: 0, mean_ms: null, p50_ms: null, p90_ms: null, p99_ms: null, max_ms: null });
  });

  it('gives the percentiles of 1..1000 ms within the histogram precision (0.1 %)', () => {
    const stats = new LatencyStats();
    // Shuffled so that the order of recording cannot matter.
    const values = Array.from({ length: 1000 }, (_, i) => i + 1).sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000));
    for (const v of values) stats.recordMillis(v);
    const s = stats.summary();
    expect(s.count).toBe(1000);
    expect(s.mean_ms).toBeCloseTo(500.5, 6);
    expect(s.p50_ms).toBeGreaterThanOrEqual(500 * 0.999);
    expect(s.p50_ms).toBeLessThanOrEqual(500 * 1.001);
    expect(s.p90_ms).toBeGreaterThanOrEqual(900 * 0.999);
    expect(s.p90_ms).toBeLessThanOrEqual(900 * 1.001);
    expect(s.p99_ms).toBeGreaterThanOrEqual(990 * 0.999);
    expect(s.p99_ms).toBeLessThanOrEqual(990 * 1.001);
    expect(s.max_ms).toBe(1000);
  });

  it('is exact for small microsecond values and keeps the exact mean and max', () => {
    const stats = new LatencyStats();
    for (const us of [100, 200, 300, 400, 1500]) stats.recordMicros(us);
    const s = stats.summary();
    expect(s.p50_ms).toBe(0.3);
    expect(s.p90_ms).toBe(1.5);
    expect(s.mean_ms).toBe(0.5);
    expect(s.max_ms).toBe(1.5);
  });

  it('never reports a percentile above the maximum recorded', () => {
    const stats = new LatencyStats();
    stats.recordMicros(73_101); // lands in a bucket whose top is above the value
    expect(stats.summary().p99_ms).toBe(73.101);
    expect(stats.summary().max_ms).toBe(73.101);
  });

  it('records sub-microsecond values as 1 µs', () => {
    const stats = new LatencyStats();
    stats.recordMicros(0.2);
    stats.recordMicros(-5);
    expect(stats.summary()).toMatchObject({ count: 2, max_ms: 0.001, p50_ms: 0.001 });
  });

  it('merges recorders without changing them', () => {
    const a = new LatencyStats();
    const b = new LatencyStats();
    [1, 2, 3].forEach((v) => a.recordMillis(v));
    [10, 20].forEach((v) => b.recordMillis(v));
    const merged = LatencyStats.merge(a, b);
    expect(merged.summary()).toMatchObject({ count: 5, mean_ms: 7.2, max_ms: 20 });
    expect(a.count).toBe(3);
    expect(b.count).toBe(2);
  });
});
