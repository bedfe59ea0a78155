import { build, type Histogram } from 'hdr-histogram-js';

/** Latency of one kind of request, in milliseconds. `null` fields mean nothing was recorded. */
export interface LatencySummary {
  count: number;
  mean_ms: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

/**
 * Latency recorder over an HDR histogram. Values are recorded in whole microseconds (the
 * histogram holds integers) with 3 significant digits, so percentiles are exact to 0.1 %.
 * The mean and the maximum are tracked exactly beside the histogram.
 */
export class LatencyStats {
  private readonly histogram: Histogram;
  private sumUs = 0;
  private maxUs = 0;

  constructor() {
    this.histogram = build({ useWebAssembly: false, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1 });
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Records one latency in microseconds; sub-microsecond and negative values count as 1 µs. */
  recordMicros(us: number): void {
    const value = Math.max(1, Math.round(us));
    this.histogram.recordValue(value);
    this.sumUs += value;
    if (value > this.maxUs) this.maxUs = value;
  }

  recordMillis(ms: number): void {
    this.recordMicros(ms * 1000);
  }

  /** Adds every value recorded by `other` into this recorder. */
  add(other: LatencyStats): this {
    this.histogram.add(other.histogram);
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
    return this;
  }

  /**
   * Value at a percentile (0–100) in milliseconds, or `null` when nothing was recorded. The
   * histogram answers with the top of a bucket, which can lie above the largest value recorded;
   * it is capped at that maximum.
   */
  percentileMs(percentile: number): number | null {
    if (this.count === 0) return null;
    return Math.min(this.histogram.getValueAtPercentile(percentile), this.maxUs) / 1000;
  }

  summary(): LatencySummary {
    const count = this.count;
    if (count === 0) {
      return { count: 0, mean_ms: null, p50_ms: null, p90_ms: null, p99_ms: null, max_ms: null };
    }
    return {
      count,
      mean_ms: round3(this.sumUs / count / 1000),
      p50_ms: round3(this.percentileMs(50) ?? 0),
      p90_ms: round3(this.percentileMs(90) ?? 0),
      p99_ms: round3(this.percentileMs(99) ?? 0),
      max_ms: round3(this.maxUs / 1000),
    };
  }

  /** Merges recorders into a new one (the inputs are left unchanged). */
  static merge(...parts: LatencyStats[]): LatencyStats {
    const merged = new LatencyStats();
    for (const part of parts) merged.add(part);
    return merged;
  }
}

/** Rounds to microsecond resolution when the value is in milliseconds. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
