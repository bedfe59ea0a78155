import type { CheckResult, HistoryStats } from '@app/verify';
import { electionsLine, type ElectionFigures } from './leader-sightings';

/** The summary printed at the end of a run (and saved as summary.txt). */
export interface SummaryInput {
  title: string;
  stats: HistoryStats;
  faultsInjected: Record<string, number>;
  /** Leader changes seen by polling every front end during the run (counted per front end, added up), and the last epoch. */
  elections?: ElectionFigures;
  /** Each partition's span, trades acknowledged in it and its longest stretch without one. */
  partitions?: { target: string; what: string; shape?: string; from: number; to: number; acked: number; longestWithoutAckMs: number; excused?: number }[];
  /** The times the cluster did not settle (the nemesis's `not-settled` events: after a partition, or the front ends at the end): any fails the run. */
  unsettled?: string[];
  /** The nemesis's `error` events (a failed restart, a process not ready or serving in time, an exception in the nemesis): any fails the run. */
  nemesisErrors?: string[];
  /** The crossing reader's figures, when it ran (lose-pushes with two or more front ends). */
  crossing?: { session: number; windows: number; pairs: number; newer: number };
  /** The outage reader's figures, when it ran (the catalog's faults). */
  outage?: { session: number; windows: number; reads: number };
  checks: CheckResult[];
  converged?: boolean;
  /** Client-visible failures with the faults around them (printed under the failing check). */
  failureContext?: { op: number; what: string; invoke: number; complete: number; faults: string[] }[];
  timings?: Record<string, number>;
  files?: Record<string, string | undefined>;
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const num = (s: number, n: number) => String(s).padStart(n);

export function formatSummary(s: SummaryInput): string {
  const out: string[] = [];
  const line = (t = '') => out.push(t);
  line(s.title);
  line();
  line(`${pad('operations', 26)}${['total', 'ok', 'fail', 'unknown'].map((h) => h.padStart(9)).join('')}`);
  const row = (label: string, t: { total: number; ok: number; fail: number; unknown: number }, note = '') =>
    line(`  ${pad(label, 24)}${[t.total, t.ok, t.fail, t.unknown].map((v) => num(v, 9)).join('')}${note ? `   ${note}` : ''}`);
  const { stats } = s;
  row('lookups (GET /stocks)', stats.reads);
  row('trades (one per key)', { total: stats.trades.total, ok: stats.trades.ok, fail: stats.trades.refused + stats.trades.failed, unknown: stats.trades.unknown },
    `fail = ${stats.trades.refused} refused (409) + ${stats.trades.failed} other; ${stats.trades.retried} retried`);
  row('trade attempts (POST)', stats.tradeAttempts);
  row('all operations', stats.operations);
  row('read-backs (GET /orders)', stats.readbacks);
  line();
  const faults = Object.entries(s.faultsInjected).sort(([a], [b]) => a.localeCompare(b));
  const total = faults.reduce((n, [, v]) => n + v, 0);
  line(`faults injected: ${total}`);
  for (const [kind, n] of faults) line(`  ${pad(kind, 56)}${num(n, 5)}`);
  if (s.elections) {
    line(electionsLine(s.elections));
  }
  if (s.partitions?.length) {
    const worst = s.partitions.reduce((a, b) => (b.longestWithoutAckMs > a.longestWithoutAckMs ? b : a));
    line(
      `partitions: ${s.partitions.length}, ${s.partitions.reduce((n, p) => n + p.acked, 0)} trades acknowledged during them; ` +
        `longest stretch without an acknowledged trade ${worst.longestWithoutAckMs} ms (${worst.target}: ${worst.what}, at ${(worst.from / 1000).toFixed(1)} s)`,
    );
    const cut = s.partitions.filter((p) => p.shape === 'frontend-from-catalog');
    if (cut.length > 0) {
      line(
        `  front end cut from the catalog (pushes to it lost too; only lookups through it may fail): ${cut.length} ` +
          `(${cut.map((p) => `${p.target} at ${(p.from / 1000).toFixed(1)} s for ${((p.to - p.from) / 1000).toFixed(1)} s`).join(', ')}); ` +
          `${cut.reduce((n, p) => n + (p.excused ?? 0), 0)} failed lookups through it excused, ${cut.reduce((n, p) => n + p.acked, 0)} trades acknowledged meanwhile`,
      );
    }
  }
  for (const u of s.unsettled ?? []) line(`NOT SETTLED: ${u}`);
  for (const e of s.nemesisErrors ?? []) line(`NEMESIS ERROR: ${e}`);
  if (s.crossing) {
    const c = s.crossing;
    line(
      `crossing reader (session ${c.session}): ${c.pairs} read pairs in ${c.windows} lost-push window${c.windows === 1 ? '' : 's'} ` +
        `(a stock through another front end, then through the one losing its pushes), ${c.newer} with a trade shown first by the other`,
    );
  }
  if (s.outage) {
    const o = s.outage;
    line(`outage reader (session ${o.session}): ${o.reads} lookups in ${o.windows} catalog outage${o.windows === 1 ? '' : 's'} (killed, paused, or not yet healthy)`);
  }
  line();
  const width = Math.max(36, ...s.checks.map((c) => c.title.length + 1));
  line(`${pad('check', width + 2)}${pad('verdict', 9)}counts`);
  for (const c of s.checks) {
    const counts = Object.entries(c.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    line(`  ${pad(c.title, width)}${pad(c.verdict === 'pass' ? 'PASS' : 'FAIL', 9)}${counts}`);
  }
  const failed = s.checks.filter((c) => c.verdict === 'fail');
  for (const c of failed) {
    line();
    line(`FAIL ${c.title} (${c.violationCount} violation${c.violationCount === 1 ? '' : 's'}):`);
    for (const v of c.violations) line(`  - ${v}`);
    if (c.violationCount > c.violations.length) line(`  … and ${c.violationCount - c.violations.length} more`);
    if (c.id === 'client-failures' && s.failureContext?.length) {
      line('  faults from 5 s before each failed request to its answer:');
      for (const f of s.failureContext.slice(0, 10)) line(`    ${f.what} (${f.invoke}–${f.complete} ms): ${f.faults.join('; ') || 'none'}`);
      if (s.failureContext.length > 10) line(`    … (all of them in report.json, failureContext)`);
    }
  }
  line();
  if (s.converged === false) line('note: the replicas had NOT converged when the bound ran out; the state was checked as it was.');
  if (s.timings) line(`timings (ms): ${Object.entries(s.timings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [k, v] of Object.entries(s.files ?? {})) if (v) line(`${pad(k, 12)} ${v}`);
  line();
  const unsettled = s.unsettled?.length ?? 0;
  const errors = s.nemesisErrors?.length ?? 0;
  const beyond = [
    ...(unsettled > 0 ? [`the cluster did not settle ${unsettled === 1 ? 'once' : `${unsettled} times`}`] : []),
    ...(errors > 0 ? [`${errors} nemesis error${errors === 1 ? '' : 's'}`] : []),
  ];
  const also = beyond.map((b) => `; ${b}`).join('');
  if (failed.length > 0) line(`RESULT: FAIL — ${failed.length} of ${s.checks.length} checks failed: ${failed.map((c) => c.id).join(', ')}${also}`);
  else line(beyond.length > 0 ? `RESULT: FAIL — all ${s.checks.length} checks passed${also}` : `RESULT: PASS — all ${s.checks.length} checks passed`);
  return out.join('\n');
}
