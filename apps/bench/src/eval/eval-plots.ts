import type { TopLevelSpec } from 'vega-lite';
import type { RequestSample, SweepRow } from '@app/loadgen';
import { PLOT_CONFIG } from '../common/plot-config';
import type { FaultEvent } from './failure-run';
import type { EvalRow, SpreadStat } from './repeats';

type Stat = 'mean' | 'p50' | 'p99';

/**
 * The p axis: from 0 to the largest p measured (not to 1 when the sweep stops at 0.8), with a tick
 * at every p measured.
 */
export function pAxis(rows: readonly SweepRow[]): { domain: [number, number]; values: number[] } {
  const ps = [...new Set(rows.map((r) => r.p))].sort((a, b) => a - b);
  const max = ps.length === 0 ? 1 : ps[ps.length - 1];
  return { domain: [Math.min(0, ps[0] ?? 0), max > 0 ? max : 1], values: ps };
}

/** The x encoding of p over the p's of `rows`: the axis ends at the largest p, with a tick at each. */
function pEncoding(rows: readonly SweepRow[], field: string, title: string) {
  const axis = pAxis(rows);
  return {
    field,
    type: 'quantitative',
    title,
    scale: { domain: axis.domain, nice: false, zero: false, padding: 14 },
    axis: { values: axis.values, format: '.1f' },
  } as const;
}

/** How far cache-on and cache-off marks are moved apart along p, so that their bars do not overlap. */
function dodge(rows: readonly SweepRow[]): number {
  const { domain } = pAxis(rows);
  return (domain[1] - domain[0]) * 0.012;
}

/** Rows of the latency plot: one per p, cache state, request type and statistic with a value. */
export interface LatencyPoint {
  p: number;
  cache: string;
  type: string;
  stat: Stat;
  /** The row of the grid: the typical figures (mean, p50) apart from the tail (p99), whose scale is larger. */
  panel: 'mean and p50' | 'p99';
  /** The median over the repeats (the run's figure when there was one run). */
  ms: number;
  /** Lowest and highest per-run figure: the error bar (absent for results without repeats). */
  lo?: number;
  hi?: number;
  /** Runs behind the point. */
  runs?: number;
}

export function latencyPoints(rows: readonly EvalRow[]): LatencyPoint[] {
  const out: LatencyPoint[] = [];
  for (const r of rows) {
    const cache = `cache ${r.cache}`;
    const values: [string, Stat, number | null, SpreadStat][] = [
      ['lookup', 'mean', r.lookup_mean_ms, 'lookup_mean_ms'],
      ['lookup', 'p50', r.lookup_p50_ms, 'lookup_p50_ms'],
      ['lookup', 'p99', r.lookup_p99_ms, 'lookup_p99_ms'],
      ['trade', 'mean', r.trade_mean_ms, 'trade_mean_ms'],
      ['trade', 'p50', r.trade_p50_ms, 'trade_p50_ms'],
      ['trade', 'p99', r.trade_p99_ms, 'trade_p99_ms'],
    ];
    for (const [type, stat, ms, key] of values) {
      if (ms === null) continue;
      const point: LatencyPoint = { p: r.p, cache, type, stat, panel: stat === 'p99' ? 'p99' : 'mean and p50', ms };
      const spread = r.spread?.[key];
      if (spread) Object.assign(point, { lo: spread.min, hi: spread.max, runs: r.repeats });
      out.push(point);
    }
  }
  return out;
}

/** Marks of cache on and off moved apart along p (`x`), so that bars at the same p stay apart. */
function dodgeTransform(rows: readonly SweepRow[]): { calculate: string; as: string }[] {
  const d = dodge(rows);
  return [{ calculate: `datum.p + (datum.cache == 'cache on' ? ${-d} : ${d})`, as: 'x' }];
}

/**
 * Latency of lookups and trades against p, cache on vs off: a grid with a column per request type
 * and a row for the typical latency (mean solid, p50 dotted) and one for the tail (p99), each cell
 * with its own scale. Each point is the median over the repeats of p's run, its bar the lowest
 * to the highest run.
 */
export function latencySpec(rows: readonly EvalRow[], subtitle: string | string[]): TopLevelSpec {
  const x = pEncoding(rows, 'x', 'p');
  const color = {
    field: 'cache',
    type: 'nominal',
    title: 'front end cache',
    scale: { domain: ['cache on', 'cache off'], range: ['#1f77b4', '#d62728'] },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Latency per request type against p (probability of trading)', subtitle },
    config: PLOT_CONFIG,
    data: { values: latencyPoints(rows) },
    facet: {
      column: { field: 'type', type: 'nominal', title: null, sort: ['lookup', 'trade'], header: { labelExpr: "datum.value + ' latency'" } },
      row: { field: 'panel', type: 'nominal', title: null, sort: ['mean and p50', 'p99'] },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 340,
      height: 200,
      transform: dodgeTransform(rows),
      layer: [
        {
          mark: { type: 'line', point: { size: 45 }, strokeWidth: 2 },
          encoding: {
            x,
            y: { field: 'ms', type: 'quantitative', title: 'latency (ms)', scale: { zero: true } },
            color,
            strokeDash: {
              field: 'stat',
              type: 'nominal',
              title: 'statistic',
              scale: { domain: ['mean', 'p50', 'p99'], range: [[1, 0], [2, 2], [1, 0]] },
            },
            shape: { field: 'stat', type: 'nominal', title: 'statistic', scale: { domain: ['mean', 'p50', 'p99'], range: ['circle', 'square', 'triangle-up'] } },
            tooltip: [
              { field: 'cache' },
              { field: 'type' },
              { field: 'stat' },
              { field: 'p' },
              { field: 'ms', title: 'median ms', format: '.3f' },
              { field: 'lo', title: 'lowest run', format: '.3f' },
              { field: 'hi', title: 'highest run', format: '.3f' },
              { field: 'runs' },
            ],
          },
        },
        {
          transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
          mark: { type: 'errorbar', ticks: { size: 6 }, thickness: 1.5 },
          encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'latency (ms)' }, y2: { field: 'hi' }, color },
        },
      ],
    },
  } as TopLevelSpec;
}

/** The cache's hit ratio against p (cache on): the median over the repeats, labelled, with the lowest to highest run as a bar. */
export function hitRatioSpec(rows: readonly EvalRow[], subtitle: string | string[]): TopLevelSpec {
  const on = rows.filter((r) => r.cache === 'on' && r.hit_ratio !== null);
  const values = on.map((r) => {
    const spread = r.spread?.hit_ratio;
    return spread ? { p: r.p, hit_ratio: r.hit_ratio as number, lo: spread.min, hi: spread.max } : { p: r.p, hit_ratio: r.hit_ratio as number };
  });
  const x = pEncoding(on, 'p', 'p (probability of trading)');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Front end cache hit ratio against p (cache on)', subtitle },
    config: PLOT_CONFIG,
    width: 460,
    height: 280,
    data: { values },
    encoding: {
      x,
      y: {
        field: 'hit_ratio',
        type: 'quantitative',
        title: 'hit ratio = hits / (hits + misses)',
        scale: { domain: [0, 1.08], nice: false },
        axis: { format: '%', values: [0, 0.2, 0.4, 0.6, 0.8, 1] },
      },
    },
    layer: [
      { mark: { type: 'line', point: { size: 60 }, color: '#1f77b4', strokeWidth: 2 } },
      {
        transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
        mark: { type: 'errorbar', ticks: { size: 6 }, color: '#1f77b4' },
        encoding: { y: { field: 'lo', type: 'quantitative', title: 'hit ratio = hits / (hits + misses)' }, y2: { field: 'hi' } },
      },
      { mark: { type: 'text', align: 'left', dx: 7, dy: -9, fontSize: 11 }, encoding: { text: { field: 'hit_ratio', type: 'quantitative', format: '.1%' } } },
    ],
  } as TopLevelSpec;
}

/** At most this many points are drawn; the rest are thinned (every slow request is always kept). */
const MAX_PLOTTED_SAMPLES = 20_000;

/**
 * Thins a time series for plotting: keeps every request slower than the 99th percentile of its
 * type, every failure, and an even subset of the rest, up to {@link MAX_PLOTTED_SAMPLES}.
 */
export function thinSamples<T extends RequestSample & { t_s: number }>(samples: readonly T[], max = MAX_PLOTTED_SAMPLES): { kept: T[]; threshold_ms: Record<string, number> } {
  if (samples.length <= max) return { kept: [...samples], threshold_ms: {} };
  const threshold: Record<string, number> = {};
  for (const type of new Set(samples.map((s) => s.type))) {
    const sorted = samples.filter((s) => s.type === type).map((s) => s.latency_ms).sort((a, b) => a - b);
    threshold[type] = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  }
  const must = (s: T): boolean => s.outcome === 'error' || s.latency_ms > threshold[s.type];
  const mustCount = samples.filter(must).length;
  const rest = samples.length - mustCount;
  const stride = Math.max(1, Math.ceil(rest / Math.max(1, max - mustCount)));
  let i = 0;
  const kept = samples.filter((s) => must(s) || i++ % stride === 0);
  return { kept, threshold_ms: threshold };
}

const FAILURE_PLOT_HEIGHT = 380;

/**
 * Latency over time during the failure run: a point per request, a rule per fault labelled at the
 * top, and a rule per replica's return to ready labelled at the bottom.
 */
export function failureSpec(
  samples: readonly (RequestSample & { t_s: number })[],
  faults: readonly FaultEvent[],
  durationS: number,
  subtitle: string | string[],
): TopLevelSpec {
  const points = samples.map((s) => ({
    t: s.t_s,
    ms: Math.max(s.latency_ms, 0.01),
    type: s.outcome === 'error' ? `${s.type} (error)` : s.type,
  }));
  const maxMs = Math.max(1, ...points.map((p) => p.ms));
  const end = Math.ceil(Math.max(durationS, ...points.map((p) => p.t)));
  const rules = faults.filter((f) => f.t_s <= end).map((f, i) => ({ t: f.t_s, label: f.label, row: i % 2 }));
  // A replica that became ready after the load ended has no rule.
  const readies = faults
    .filter((f) => f.ready_t_s !== undefined && f.ready_t_s <= end)
    .map((f, i) => ({ t: f.ready_t_s as number, label: `order-${f.replica} ready again`, row: i % 2 }));
  const domain = ['lookup', 'trade', 'lookup (error)', 'trade (error)'];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Latency over time while the leader, then a follower, are killed and restarted', subtitle },
    config: PLOT_CONFIG,
    width: 900,
    height: FAILURE_PLOT_HEIGHT,
    layer: [
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 9, opacity: 0.45 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'time since the load started (s)', scale: { domain: [0, end], nice: false } },
          y: {
            field: 'ms',
            type: 'quantitative',
            title: 'latency (ms, log scale)',
            scale: { type: 'log', domain: [0.1, Math.pow(10, Math.ceil(Math.log10(maxMs)))] },
          },
          color: { field: 'type', type: 'nominal', title: 'request', scale: { domain, range: ['#1f77b4', '#ff7f0e', '#000000', '#d62728'] } },
          shape: { field: 'type', type: 'nominal', title: 'request', scale: { domain, range: ['circle', 'circle', 'cross', 'cross'] } },
        },
      },
      {
        data: { values: readies },
        mark: { type: 'rule', color: '#2ca02c', strokeDash: [2, 3], strokeWidth: 1 },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', color: '#444', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
      // Labels alternate between two lines so that neighbouring faults' labels do not overlap.
      ...[0, 1].map((row) => ({
        data: { values: rules },
        transform: [{ filter: `datum.row == ${row}` }],
        mark: { type: 'text' as const, align: 'left' as const, baseline: 'top' as const, dx: 4, dy: 4 + 16 * row, fontSize: 11, fontWeight: 'bold' as const, color: '#222' },
        encoding: { x: { field: 't', type: 'quantitative' as const }, y: { value: 0 }, text: { field: 'label' } },
      })),
      // The ready lines are labelled at the bottom, in their colour, so that no marker line is unnamed.
      ...[0, 1].map((row) => ({
        data: { values: readies },
        transform: [{ filter: `datum.row == ${row}` }],
        mark: { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, dx: 4, dy: -4 - 16 * row, fontSize: 11, fontWeight: 'bold' as const, color: '#2ca02c' },
        encoding: { x: { field: 't', type: 'quantitative' as const }, y: { value: FAILURE_PLOT_HEIGHT }, text: { field: 'label' } },
      })),
    ],
  } as TopLevelSpec;
}
