import type { CacheStats } from '@app/contracts';
import type { LoadResult } from '@app/loadgen';
import { median } from '../bench/scenarios';

/** Which load of a round: the first on a freshly started bazaar, or the second on the same processes. */
export type LabPhaseName = 'cold' | 'warm';

/** One load of a round, as the client reported it, with the bazaar's CPU over it. */
export interface LabPhase {
  phase: LabPhaseName;
  trades: number;
  trades_ok: number;
  trade_p50_ms: number | null;
  trade_p90_ms: number | null;
  trade_p99_ms: number | null;
  lookups: number;
  lookup_p50_ms: number | null;
  /** The client's verdict: no error, every acknowledged order read back unchanged. */
  passed: boolean;
  /**
   * CPU each bazaar process used from the client's start to its exit (the load, then the read-back
   * of every order), in ms per trade sent; null when a process could not be read.
   */
  cpu_ms_per_trade: Record<string, number> | null;
  cpu_ms_per_trade_total: number | null;
  /**
   * The front end's cache over the load (its `/cache/stats` before and after): lookups that went
   * to the catalog, and stocks cached from a trade's answer, per trade sent; hits ÷ lookups. Null
   * when the stats could not be read or went back (a restart).
   */
  cache: LabCacheFigures | null;
}

export interface LabCacheFigures {
  misses_per_trade: number | null;
  offers_taken_per_trade: number | null;
  hit_ratio: number | null;
}

export interface LabRound {
  round: number;
  cold: LabPhase | null;
  warm: LabPhase | null;
}

export interface LabSummary {
  cold_trade_p50_ms: number | null;
  warm_trade_p50_ms: number | null;
  /** warm ÷ cold trade p50, median over the rounds that have both. */
  warm_to_cold_p50: number | null;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** The cache's figures over a load of `trades` trades, from its stats before and after (null if either is missing or a counter went back). */
export function cacheFigures(before: CacheStats | null, after: CacheStats | null, trades: number): LabCacheFigures | null {
  if (!before || !after) return null;
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  const offers = after.offers_taken - before.offers_taken;
  if (hits < 0 || misses < 0 || offers < 0) return null;
  const per = (n: number): number | null => (trades > 0 ? round3(n / trades) : null);
  return { misses_per_trade: per(misses), offers_taken_per_trade: per(offers), hit_ratio: hits + misses > 0 ? round3(hits / (hits + misses)) : null };
}

/**
 * A phase's figures from the client's `--json` result, the CPU the bazaar used meanwhile (ms by
 * process, or null) and the front end's cache stats before and after it.
 */
export function phaseFigures(
  phase: LabPhaseName,
  result: LoadResult,
  cpuMs: Record<string, number> | null,
  cache: { before: CacheStats | null; after: CacheStats | null } = { before: null, after: null },
): LabPhase {
  const trade = result.requests.trade;
  const lookup = result.requests.lookup;
  const per = trade.count > 0 && cpuMs !== null ? trade.count : 0;
  const cpu = per > 0 ? Object.fromEntries(Object.entries(cpuMs!).map(([name, ms]) => [name, round3(ms / per)])) : null;
  return {
    phase,
    trades: trade.count,
    trades_ok: result.trades.ok,
    trade_p50_ms: trade.latency_ms.p50_ms,
    trade_p90_ms: trade.latency_ms.p90_ms,
    trade_p99_ms: trade.latency_ms.p99_ms,
    lookups: lookup.count,
    lookup_p50_ms: lookup.latency_ms.p50_ms,
    passed: result.passed,
    cpu_ms_per_trade: cpu,
    cpu_ms_per_trade_total: cpu === null ? null : round3(Object.values(cpu).reduce((a, b) => a + b, 0)),
    cache: cacheFigures(cache.before, cache.after, trade.count),
  };
}

/**
 * The trades that bring every stock back to `target` shares: a sale of the difference for each
 * stock below it (the lab's load only trades stocks that have shares, so a sold-out catalog would
 * make the second load all lookups). Stocks at or above the target are left alone.
 */
export function restockTrades(quantities: Readonly<Record<string, number>>, target: number): { stock_name: string; trade_type: 'sell'; quantity: number }[] {
  return Object.entries(quantities)
    .filter(([, q]) => q < target)
    .map(([stock_name, q]) => ({ stock_name, trade_type: 'sell' as const, quantity: target - q }));
}

/** Medians over the rounds: the cold and the warm trade p50, and their ratio per round. */
export function summarize(rounds: readonly LabRound[]): LabSummary {
  const p50s = (phase: LabPhaseName): number[] =>
    rounds.map((r) => r[phase]?.trade_p50_ms).filter((v): v is number => typeof v === 'number');
  const ratios = rounds
    .map((r) => (r.cold?.trade_p50_ms && r.warm?.trade_p50_ms ? r.warm.trade_p50_ms / r.cold.trade_p50_ms : null))
    .filter((v): v is number => v !== null);
  const m = (values: number[]): number | null => {
    const v = median(values);
    return v === null ? null : round3(v);
  };
  return { cold_trade_p50_ms: m(p50s('cold')), warm_trade_p50_ms: m(p50s('warm')), warm_to_cold_p50: m(ratios) };
}

const fmt = (v: number | null | undefined, digits = 2): string => (typeof v === 'number' ? v.toFixed(digits) : '-');

/** A markdown table, a row per round and phase, then the medians and the target's verdict for each phase. */
export function formatLab(rounds: readonly LabRound[], summary: LabSummary, targetMs: number): string {
  const lines = [
    '| round | load | trades (ok) | trade p50 ms | p90 | p99 | lookups | lookup p50 ms | misses/trade | hit ratio | CPU ms/trade | passed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rounds) {
    for (const p of [r.cold, r.warm]) {
      if (!p) continue;
      lines.push(
        `| ${r.round} | ${p.phase} | ${p.trades} (${p.trades_ok}) | ${fmt(p.trade_p50_ms)} | ${fmt(p.trade_p90_ms)} | ${fmt(p.trade_p99_ms)} | ` +
          `${p.lookups} | ${fmt(p.lookup_p50_ms)} | ${fmt(p.cache?.misses_per_trade, 3)} | ${fmt(p.cache?.hit_ratio, 3)} | ` +
          `${fmt(p.cpu_ms_per_trade_total, 3)} | ${p.passed ? 'yes' : 'NO'} |`,
      );
    }
  }
  const verdict = (v: number | null): string => (v === null ? 'not measured' : v <= targetMs ? 'met' : 'not met');
  lines.push(
    '',
    `medians over ${rounds.length} round(s): trade p50 ${fmt(summary.cold_trade_p50_ms)} ms on a freshly started bazaar, ` +
      `${fmt(summary.warm_trade_p50_ms)} ms on the same processes after it (warm ÷ cold ${fmt(summary.warm_to_cold_p50, 3)})`,
    `target: the lab's trade p50 ≤ ${targetMs} ms — cold ${verdict(summary.cold_trade_p50_ms)}, warm ${verdict(summary.warm_trade_p50_ms)}`,
  );
  return `${lines.join('\n')}\n`;
}

/** One cluster of a paired round (`bench:lab` with a variant or a baseline): its two loads. */
export interface LabSide {
  cold: LabPhase | null;
  warm: LabPhase | null;
  /** Its front end's command line as the process ran it (`/proc/<pid>/cmdline`), node's own options included; null when unreadable. */
  command_line: string[] | null;
}

/** Variant ÷ baseline, within one round (both loaded at once), to 4 places; null when either side lacks the figure. */
export interface LabPairRatios {
  cold_trade_p50: number | null;
  warm_trade_p50: number | null;
  cold_cpu_per_trade: number | null;
  warm_cpu_per_trade: number | null;
}

export interface LabPairRound {
  round: number;
  baseline: LabSide;
  variant: LabSide;
  ratios: LabPairRatios;
}

/** The medians of the rounds' ratios, and their lowest and highest. */
export interface LabPairSummary {
  median: LabPairRatios;
  low: LabPairRatios;
  high: LabPairRatios;
}

const round4 = (v: number): number => Math.round(v * 10_000) / 10_000;
const RATIO_KEYS = ['cold_trade_p50', 'warm_trade_p50', 'cold_cpu_per_trade', 'warm_cpu_per_trade'] as const;

function ratio(variant: number | null | undefined, baseline: number | null | undefined): number | null {
  return typeof variant === 'number' && typeof baseline === 'number' && baseline > 0 ? round4(variant / baseline) : null;
}

/** Variant ÷ baseline for each figure of a round. */
export function pairRatios(baseline: LabSide, variant: LabSide): LabPairRatios {
  return {
    cold_trade_p50: ratio(variant.cold?.trade_p50_ms, baseline.cold?.trade_p50_ms),
    warm_trade_p50: ratio(variant.warm?.trade_p50_ms, baseline.warm?.trade_p50_ms),
    cold_cpu_per_trade: ratio(variant.cold?.cpu_ms_per_trade_total, baseline.cold?.cpu_ms_per_trade_total),
    warm_cpu_per_trade: ratio(variant.warm?.cpu_ms_per_trade_total, baseline.warm?.cpu_ms_per_trade_total),
  };
}

/** Per figure, the median of the rounds' ratios (each taken within its round), and the range. */
export function summarizePairs(rounds: readonly LabPairRound[]): LabPairSummary {
  const summary: LabPairSummary = { median: emptyRatios(), low: emptyRatios(), high: emptyRatios() };
  for (const key of RATIO_KEYS) {
    const values = rounds.map((r) => r.ratios[key]).filter((v): v is number => v !== null);
    const m = median(values);
    summary.median[key] = m === null ? null : round4(m);
    summary.low[key] = values.length > 0 ? Math.min(...values) : null;
    summary.high[key] = values.length > 0 ? Math.max(...values) : null;
  }
  return summary;
}

function emptyRatios(): LabPairRatios {
  return { cold_trade_p50: null, warm_trade_p50: null, cold_cpu_per_trade: null, warm_cpu_per_trade: null };
}

/** A markdown table, a row per round and load (both sides and their ratio), then the medians of the ratios. */
export function formatLabPairs(rounds: readonly LabPairRound[], summary: LabPairSummary): string {
  const lines = [
    '| round | load | trade p50 ms, baseline | variant | ratio | CPU ms/trade, baseline | variant | ratio | passed |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rounds) {
    for (const load of ['cold', 'warm'] as const) {
      const b = r.baseline[load];
      const v = r.variant[load];
      if (!b && !v) continue;
      const passed = b?.passed && v?.passed ? 'yes' : 'NO';
      lines.push(
        `| ${r.round} | ${load} | ${fmt(b?.trade_p50_ms)} | ${fmt(v?.trade_p50_ms)} | ${fmt(r.ratios[`${load}_trade_p50`], 4)} | ` +
          `${fmt(b?.cpu_ms_per_trade_total, 3)} | ${fmt(v?.cpu_ms_per_trade_total, 3)} | ${fmt(r.ratios[`${load}_cpu_per_trade`], 4)} | ${passed} |`,
      );
    }
  }
  const line = (label: string, key: (typeof RATIO_KEYS)[number]): string =>
    `${label} ${fmt(summary.median[key], 4)} (rounds ${fmt(summary.low[key], 4)}–${fmt(summary.high[key], 4)})`;
  lines.push(
    '',
    `variant ÷ baseline, medians of ${rounds.length} round(s), both clusters loaded at once: ` +
      `${line('cold trade p50', 'cold_trade_p50')}, ${line('warm', 'warm_trade_p50')}; ` +
      `${line('CPU per trade cold', 'cold_cpu_per_trade')}, ${line('warm', 'warm_cpu_per_trade')}`,
  );
  return `${lines.join('\n')}\n`;
}
