import type { SweepRow } from '@app/loadgen';

/** One run of the evaluation: a p, a cache state, and which of its repeats it was (0-based). */
export type RunRow = SweepRow & { repeat: number };

/** The figures whose spread over the repeats is kept and drawn. */
export const SPREAD_STATS = [
  'lookup_mean_ms',
  'lookup_p50_ms',
  'lookup_p99_ms',
  'trade_mean_ms',
  'trade_p50_ms',
  'trade_p99_ms',
  'throughput_rps',
  'hit_ratio',
] as const;
export type SpreadStat = (typeof SPREAD_STATS)[number];

/** Lowest and highest per-run value of a figure. */
export interface Spread {
  min: number;
  max: number;
}

/**
 * One p and cache state over its repeats: every figure is the **median** of the per-run figures
 * (counts too, so a row reads as one typical run), `errors` is their sum and `passed` holds only
 * when every run passed; `spread` has each figure's min and max over the runs. Rows of results
 * written before repeats existed have neither `repeats` nor `spread`.
 */
export interface EvalRow extends SweepRow {
  repeats?: number;
  spread?: Partial<Record<SpreadStat, Spread>>;
}

/** The median (the mean of the two middle values for an even count); null for no value. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(value: number | null, digits: number): number | null {
  if (value === null) return null;
  const f = Math.pow(10, digits);
  return Math.round(value * f) / f;
}

const CACHE_ORDER: Record<SweepRow['cache'], number> = { on: 0, off: 1, unknown: 2 };

/**
 * Aggregates the runs of an evaluation into one {@link EvalRow} per cache state and p (cache on
 * first, then off; p ascending). A figure a run did not measure (no trade at p = 0) is left out
 * of its median and spread; with no run measuring it, it is null and has no spread.
 */
export function aggregateRuns(runs: readonly RunRow[]): EvalRow[] {
  const groups = new Map<string, RunRow[]>();
  for (const run of runs) {
    const key = `${run.cache}|${run.p}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const rows = [...groups.values()].map((group): EvalRow => {
    const first = group[0];
    const med = (pick: (r: RunRow) => number | null, digits = 3): number | null =>
      round(median(group.map(pick).filter((v): v is number => v !== null)), digits);
    const count = (pick: (r: RunRow) => number): number => Math.round(median(group.map(pick)) ?? 0);
    const spread: Partial<Record<SpreadStat, Spread>> = {};
    for (const stat of SPREAD_STATS) {
      const values = group.map((r) => r[stat]).filter((v): v is number => v !== null);
      if (values.length > 0) spread[stat] = { min: Math.min(...values), max: Math.max(...values) };
    }
    return {
      p: first.p,
      cache: first.cache,
      lookups: count((r) => r.lookups),
      lookup_mean_ms: med((r) => r.lookup_mean_ms),
      lookup_p50_ms: med((r) => r.lookup_p50_ms),
      lookup_p90_ms: med((r) => r.lookup_p90_ms),
      lookup_p99_ms: med((r) => r.lookup_p99_ms),
      trades: count((r) => r.trades),
      trade_mean_ms: med((r) => r.trade_mean_ms),
      trade_p50_ms: med((r) => r.trade_p50_ms),
      trade_p90_ms: med((r) => r.trade_p90_ms),
      trade_p99_ms: med((r) => r.trade_p99_ms),
      throughput_rps: med((r) => r.throughput_rps, 2) ?? 0,
      hit_ratio: med((r) => r.hit_ratio, 4),
      trades_ok: count((r) => r.trades_ok),
      trades_refused: count((r) => r.trades_refused),
      errors: group.reduce((n, r) => n + r.errors, 0),
      passed: group.every((r) => r.passed),
      repeats: group.length,
      spread,
    };
  });
  return rows.sort((a, b) => CACHE_ORDER[a.cache] - CACHE_ORDER[b.cache] || a.p - b.p);
}
