import { ms, plural, renderTable, secs } from '../report/table';
import type { SweepResult, SweepRow } from './sweep-runner';

/** A ratio as a percentage with one decimal, or `-`. */
export function percent(ratio: number | null): string {
  return ratio === null ? '-' : `${(ratio * 100).toFixed(1)} %`;
}

const HEADER = [
  'p',
  'cache',
  'lookups',
  'lookup mean',
  'p50',
  'p99',
  'trades',
  'trade mean',
  'p50',
  'p99',
  'req/s',
  'hit ratio',
  'errors',
  'check',
];

function row(r: SweepRow): string[] {
  return [
    String(r.p),
    r.cache,
    String(r.lookups),
    ms(r.lookup_mean_ms),
    ms(r.lookup_p50_ms),
    ms(r.lookup_p99_ms),
    String(r.trades),
    ms(r.trade_mean_ms),
    ms(r.trade_p50_ms),
    ms(r.trade_p99_ms),
    r.throughput_rps.toFixed(1),
    percent(r.hit_ratio),
    String(r.errors),
    r.passed ? 'PASS' : 'FAIL',
  ];
}

/** The sweep's table: one row per p (latencies in ms). */
export function formatSweepTable(rows: readonly SweepRow[]): string {
  return renderTable(HEADER, rows.map(row), ['right', 'left', ...Array<'right'>(11).fill('right'), 'left']);
}

/** The human-readable report of a sweep, as printed at the end of `sweep`. */
export function formatSweepReport(result: SweepResult): string {
  const c = result.config;
  const stop = c.iterations !== null ? `${plural(c.iterations, 'iteration')}/session` : `${c.duration_s} s`;
  const cache = result.cache_enabled === null ? 'cache state unknown' : `cache ${result.cache_enabled ? 'on' : 'off'}`;
  const lines = [
    `Sweep against ${c.url}: ${plural(c.sessions, 'session')}, p = ${c.ps.join(', ')}, ${stop} per p, seed ${c.seed}; ${cache}`,
    `started ${c.started_at}`,
    '',
    formatSweepTable(result.table),
    '',
    'latencies in ms; req/s counts lookups and trades over the load phase; hit ratio = cache hits / (hits + misses) during that p',
  ];
  const failed = result.points.filter((p) => !p.result.passed);
  for (const point of failed) {
    const causes = Object.entries(point.result.errors.by_cause)
      .sort((a, b) => b[1] - a[1])
      .map(([cause, n]) => `${n} × ${cause}`);
    const cons = point.result.consistency;
    const extra = cons.mismatches + cons.missing > 0 ? [`${cons.mismatches} mismatches, ${cons.missing} missing orders`] : [];
    lines.push(`p=${point.p}: ${[...causes, ...extra].join('; ') || 'failed'}`);
  }
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  lines.push(`wall time ${secs(result.timing.wall_s)}`);
  lines.push('', `result: ${result.passed ? 'PASS' : 'FAIL'}${result.interrupted ? ' (interrupted)' : ''}`);
  return `${lines.join('\n')}\n`;
}
