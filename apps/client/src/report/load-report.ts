import { describeSentOrder, type LoadResult, ms, type OrderProblem, plural, renderRows, renderTable, type RequestStats, type RequestType, secs } from '@app/loadgen';

const LABELS: Record<RequestType, string> = { lookup: 'lookup', trade: 'trade', order_check: 'order-check' };

function statsRow(label: string, stats: RequestStats): string[] {
  const l = stats.latency_ms;
  return [
    label,
    String(stats.count),
    String(stats.errors),
    ms(l.mean_ms),
    ms(l.p50_ms),
    ms(l.p90_ms),
    ms(l.p99_ms),
    ms(l.max_ms),
    stats.throughput_rps.toFixed(1),
  ];
}

/** The request table: one row per type, plus lookups and trades together. */
export function formatRequestTable(result: LoadResult): string {
  const header = ['request', 'count', 'errors', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'req/s'];
  const rows = [
    statsRow(LABELS.lookup, result.requests.lookup),
    statsRow(LABELS.trade, result.requests.trade),
    statsRow('lookup+trade', result.load_total),
    statsRow(LABELS.order_check, result.requests.order_check),
  ];
  return renderTable(header, rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
}

function describeRun(result: LoadResult): string {
  const c = result.config;
  const stop = c.iterations !== null ? `${plural(c.iterations, 'iteration')}/session` : `${c.duration_s} s`;
  return `Load run against ${c.url}: ${plural(c.sessions, 'session')}, p=${c.p}, ${stop}, seed ${c.seed}${c.mixed_case ? ', mixed-case trade types' : ''}`;
}

function describeProblem(problem: OrderProblem): string {
  const sent = describeSentOrder(problem.sent);
  switch (problem.problem) {
    case 'mismatch': {
      const got = problem.got;
      const fields = (problem.fields ?? []).join(', ');
      const gotText = got ? `${got.trade_type} ${got.quantity} ${got.stock_name} (order ${got.order_no})` : '?';
      return `order ${problem.order_no}: sent ${sent}, stored ${gotText} — ${fields} ${(problem.fields ?? []).length === 1 ? 'differs' : 'differ'}`;
    }
    case 'missing':
      return `order ${problem.order_no}: sent ${sent}, acknowledged, but not found`;
    case 'duplicate':
      return `order ${problem.order_no}: acknowledged again for ${sent}; ${problem.reason ?? ''}`.trimEnd();
    case 'unchecked':
      return `order ${problem.order_no}: sent ${sent}, could not be read back (${problem.reason ?? 'error'})`;
  }
}

/** The human-readable report of a load run, as printed at the end of `load`. */
export function formatLoadReport(result: LoadResult): string {
  const lines: string[] = [
    describeRun(result),
    `started ${result.config.started_at}`,
    '',
    formatRequestTable(result),
    'req/s counts answered requests (any HTTP status); requests that got no answer count as errors only',
    '',
  ];
  const t = result.trades;
  const c = result.consistency;
  const summary: [string, string][] = [
    [
      'trades',
      `${t.attempted} attempted, ${t.ok} ok, ${t.refused} refused (409), ${t.errors} errors` +
        `${t.resent > 0 ? ` (${plural(t.resent, 'trade')} resent with its key after no answer, each counted once)` : ''}` +
        `; ${plural(t.skipped_sold_out, 'lookup')} found the stock sold out`,
    ],
    [
      'consistency',
      `${plural(c.recorded, 'order')} recorded, ${c.checked} checked, ${c.matched} matched, ${plural(c.mismatches, 'mismatch', 'mismatches')}` +
        `${c.duplicates > 0 ? ` (${c.duplicates} duplicate order numbers)` : ''}, ${c.missing} missing` +
        `${c.unchecked > 0 ? `, ${c.unchecked} could not be read back` : ''}`,
    ],
    ['iterations', `${result.iterations_completed}${result.interrupted ? ' (interrupted)' : ''}`],
    ['wall time', `${secs(result.timing.wall_s)} (load ${secs(result.timing.load_s)}, check ${secs(result.timing.check_s)})`],
    ['errors', String(result.errors.total)],
  ];
  if (result.backoff && result.backoff.waits > 0) {
    summary.push([
      'backoff',
      `sessions waited ${plural(result.backoff.waits, 'time')} (${secs(result.backoff.waited_s)} in all) after requests that got no answer`,
    ]);
  }
  lines.push(renderRows(summary, ['left', 'left']));

  const causes = Object.entries(result.errors.by_cause).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (causes.length > 0) {
    lines.push('', 'errors by cause:', ...causes.map(([cause, count]) => `  ${String(count).padStart(6)}  ${cause}`));
  }
  if (c.details.length > 0) {
    const total = c.mismatches + c.missing + c.unchecked;
    lines.push('', `order problems${total > c.details.length ? ` (first ${c.details.length} of ${total})` : ''}:`);
    lines.push(...c.details.map((p) => `  ${describeProblem(p)}`));
  }
  lines.push('', `result: ${result.passed ? 'PASS' : 'FAIL'}${result.interrupted ? ' (interrupted)' : ''}`);
  return `${lines.join('\n')}\n`;
}
