/** What `npm run bench:compare` computes from its samples (no I/O here: unit-testable). */

import { median } from '../bench/scenarios';

/** Which build goes first in pair i (0 = baseline, 1 = this build): A B, B A, B A, A B, … (ABBA), so that neither is always first. */
export function pairOrder(i: number): [0, 1] | [1, 0] {
  return i % 4 === 0 || i % 4 === 3 ? [0, 1] : [1, 0];
}

/** One trade on each build, taken one right after the other: latencies in ms. */
export interface Pair {
  baseline: number;
  current: number;
}

export interface PairedFigures {
  pairs: number;
  baseline_p50_ms: number | null;
  current_p50_ms: number | null;
  /** Median over the pairs of current / baseline: below 1, this build is faster. */
  median_pair_ratio: number | null;
  /** Share of the pairs in which this build's trade took less time (0–1). */
  current_faster_share: number | null;
}

const round3 = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);

/** Summary of the pairs of one round. */
export function summarizePairs(pairs: readonly Pair[]): PairedFigures {
  const usable = pairs.filter((p) => p.baseline > 0 && p.current > 0);
  return {
    pairs: usable.length,
    baseline_p50_ms: round3(median(usable.map((p) => p.baseline))),
    current_p50_ms: round3(median(usable.map((p) => p.current))),
    median_pair_ratio: round3(median(usable.map((p) => p.current / p.baseline))),
    current_faster_share: usable.length === 0 ? null : round3(usable.filter((p) => p.current < p.baseline).length / usable.length),
  };
}

/** CPU used by a build's five processes per acknowledged trade, in ms; null when unknown. */
export function cpuPerTrade(cpuMs: number | null, trades: number): number | null {
  return cpuMs === null || trades <= 0 ? null : round3(cpuMs / trades);
}

/** current / baseline, 3 decimals; null when either is missing or the baseline is 0. */
export function ratioOf(current: number | null, baseline: number | null): number | null {
  return current === null || baseline === null || baseline <= 0 ? null : round3(current / baseline);
}

/** One round: the alternating single trades, then both builds loaded at once. */
export interface CompareRound {
  c1: PairedFigures & { baseline_cpu_ms_per_trade: number | null; current_cpu_ms_per_trade: number | null; non_2xx: number };
  loaded: {
    connections: number;
    baseline_requests_per_s: number;
    current_requests_per_s: number;
    /** current / baseline throughput: above 1, this build is faster. */
    throughput_ratio: number | null;
    baseline_p50_ms: number | null;
    current_p50_ms: number | null;
    baseline_cpu_ms_per_trade: number | null;
    current_cpu_ms_per_trade: number | null;
    non_2xx: number;
  };
}

export interface CompareSummary {
  /** Medians over the rounds. */
  c1_median_pair_ratio: number | null;
  c1_current_faster_share: number | null;
  c1_cpu_ratio: number | null;
  loaded_throughput_ratio: number | null;
  loaded_cpu_ratio: number | null;
}

export function summarizeRounds(rounds: readonly CompareRound[]): CompareSummary {
  const med = (values: (number | null)[]): number | null => round3(median(values.filter((v): v is number => v !== null)));
  return {
    c1_median_pair_ratio: med(rounds.map((r) => r.c1.median_pair_ratio)),
    c1_current_faster_share: med(rounds.map((r) => r.c1.current_faster_share)),
    c1_cpu_ratio: med(rounds.map((r) => ratioOf(r.c1.current_cpu_ms_per_trade, r.c1.baseline_cpu_ms_per_trade))),
    loaded_throughput_ratio: med(rounds.map((r) => r.loaded.throughput_ratio)),
    loaded_cpu_ratio: med(rounds.map((r) => ratioOf(r.loaded.current_cpu_ms_per_trade, r.loaded.baseline_cpu_ms_per_trade))),
  };
}

const cell = (v: number | null, suffix = ''): string => (v === null ? '-' : `${v}${suffix}`);
const share = (v: number | null): string => (v === null ? '-' : `${Math.round(v * 100)} %`);

/** The table `bench:compare` prints: one row per round, then the medians; every ratio is this build / the baseline. */
export function formatCompareTable(rounds: readonly CompareRound[], summary: CompareSummary): string {
  const connections = rounds[0]?.loaded.connections ?? 0;
  const lines = [
    `| round | 1 conn. p50 baseline / this (ms) | pair ratio | this faster | CPU/trade baseline / this (ms) | ${connections} conn. req/s baseline / this | throughput ratio | CPU/trade baseline / this (ms) |`,
    '|---|---|---|---|---|---|---|---|',
    ...rounds.map((r, i) =>
      [
        `${i + 1}`,
        `${cell(r.c1.baseline_p50_ms)} / ${cell(r.c1.current_p50_ms)}`,
        cell(r.c1.median_pair_ratio),
        share(r.c1.current_faster_share),
        `${cell(r.c1.baseline_cpu_ms_per_trade)} / ${cell(r.c1.current_cpu_ms_per_trade)}`,
        `${r.loaded.baseline_requests_per_s} / ${r.loaded.current_requests_per_s}`,
        cell(r.loaded.throughput_ratio),
        `${cell(r.loaded.baseline_cpu_ms_per_trade)} / ${cell(r.loaded.current_cpu_ms_per_trade)}`,
      ].join(' | '),
    ).map((row) => `| ${row} |`),
  ];
  return (
    `${lines.join('\n')}\n\n` +
    `medians over ${rounds.length} round(s), this build / the baseline: ` +
    `1 connection p50 ${cell(summary.c1_median_pair_ratio)} (faster in ${share(summary.c1_current_faster_share)} of pairs), CPU per trade ${cell(summary.c1_cpu_ratio)}; ` +
    `${connections} connections throughput ${cell(summary.loaded_throughput_ratio)}, CPU per trade ${cell(summary.loaded_cpu_ratio)}\n`
  );
}
