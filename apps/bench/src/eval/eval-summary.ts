import type { SweepResult, SweepRow } from '@app/loadgen';
import { formatMachine, formatVersions, type GitInfo, type MachineInfo } from '../common/format';
import type { FailureRunResult } from './failure-run';
import type { EvalRow, RunRow, SpreadStat } from './repeats';

/** Everything `npm run eval` records, written as results.json. */
export interface EvalRecord {
  version: 1;
  kind: 'eval';
  started_at: string;
  finished_at: string | null;
  wall_s: number | null;
  machine: MachineInfo;
  /** Share of the CPU other processes used just before the run (0–1). */
  background_cpu: number;
  versions: Record<string, string>;
  git: GitInfo;
  /** The environment every process of the clusters got on top of the apps' defaults. */
  cluster_env: Record<string, string>;
  config: {
    sessions: number;
    ps: number[];
    iterations: number | null;
    duration_s: number | null;
    /** Runs of every p and cache state (absent in older results: one). */
    repeats?: number;
    seed: number;
    /** Unrecorded load on each fresh cluster before its sweep (absent in older results). */
    warmup_s?: number;
    failure: { sessions: number; p: number; duration_s: number; seed: number } | null;
  };
  /** One row per p and cache state, over its repeats (medians and spread): the figures of the plots and the summary. */
  table: EvalRow[];
  /** Every run's row, with its repeat (absent in older results, whose table has one run per row). */
  runs?: RunRow[];
  sweeps: { cache_on: SweepResult | null; cache_off: SweepResult | null };
  failure_run: FailureRunResult | null;
  files: string[];
  interrupted: boolean;
  error: string | null;
}

function f(v: number | null, digits = 2): string {
  return v === null ? '–' : v.toFixed(digits);
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(v * 100).toFixed(1)} %`;
}

function mdTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const sep = align.map((a) => (a === 'r' ? '---:' : ':---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** A median with the lowest and highest run when there were several: `36.10 (33.02–41.25)`. */
function withSpread(row: EvalRow, stat: SpreadStat, value: number | null): string {
  const spread = row.spread?.[stat];
  if (value === null || !spread || (row.repeats ?? 1) < 2) return f(value);
  return `${f(value)} (${f(spread.min)}–${f(spread.max)})`;
}

/**
 * The table: a row per p and cache state. With repeats, each figure is the median over the runs,
 * and the means carry the lowest and highest run in brackets.
 */
export function sweepMarkdownTable(rows: readonly EvalRow[]): string {
  const header = [
    'p',
    'cache',
    'lookups',
    'lookup mean',
    'lookup p50',
    'lookup p99',
    'trades',
    'trade mean',
    'trade p50',
    'trade p99',
    'throughput (req/s)',
    'hit ratio',
    'errors',
  ];
  const body = rows.map((r) => [
    String(r.p),
    r.cache,
    String(r.lookups),
    withSpread(r, 'lookup_mean_ms', r.lookup_mean_ms),
    f(r.lookup_p50_ms),
    f(r.lookup_p99_ms),
    String(r.trades),
    withSpread(r, 'trade_mean_ms', r.trade_mean_ms),
    f(r.trade_p50_ms),
    f(r.trade_p99_ms),
    r.throughput_rps.toFixed(0),
    r.cache === 'on' ? pct(r.hit_ratio) : '–',
    String(r.errors),
  ]);
  return mdTable(header, body, ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
}

/** A few sentences computed from the table: what the figures say, in numbers. */
export function observations(rows: readonly SweepRow[]): string[] {
  const out: string[] = [];
  const on = rows.filter((r) => r.cache === 'on');
  const off = rows.filter((r) => r.cache === 'off');
  const range = (vs: (number | null)[]): string => {
    const xs = vs.filter((v): v is number => v !== null);
    if (xs.length === 0) return '–';
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return lo === hi ? `${lo.toFixed(2)}` : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
  };
  if (on.length > 0 && off.length > 0) {
    out.push(
      `Lookup mean latency: ${range(on.map((r) => r.lookup_mean_ms))} ms with the cache on, ${range(off.map((r) => r.lookup_mean_ms))} ms with it off.`,
    );
    for (const r of on) {
      const twin = off.find((o) => o.p === r.p);
      if (twin && r.lookup_mean_ms && twin.lookup_mean_ms) {
        out.push(`At p = ${r.p} the cache makes lookups ${(twin.lookup_mean_ms / r.lookup_mean_ms).toFixed(1)}× faster on average (${f(twin.lookup_mean_ms)} → ${f(r.lookup_mean_ms)} ms).`);
        break;
      }
    }
  }
  const trades = rows.filter((r) => r.trade_mean_ms !== null);
  if (trades.length > 0) out.push(`Trade mean latency: ${range(trades.map((r) => r.trade_mean_ms))} ms over every p and cache state (a trade goes to the leader, the catalog and a majority of replicas; the cache is not on its path).`);
  const ratios = on.filter((r) => r.hit_ratio !== null);
  if (ratios.length > 1) {
    out.push(
      `Hit ratio falls as p rises, since every trade invalidates its stock: ${ratios.map((r) => `${pct(r.hit_ratio)} at p = ${r.p}`).join(', ')}.`,
    );
  }
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  out.push(errors === 0 ? 'No request failed in any run, and every acknowledged order was read back intact.' : `${errors} requests failed across the runs: see results.json.`);
  return out;
}

function failureSection(run: FailureRunResult, warmedUp: boolean): string[] {
  const l = run.load;
  const lines = [
    '## Failure run',
    '',
    `${run.config.sessions} sessions, p = ${run.config.p}, ${run.config.duration_s} s, seed ${run.config.seed}, on a fresh cluster with the cache on. ` +
      'Each fault is a SIGKILL; each restart is the replica started again (it recovers, then rejoins as a follower).',
    '',
    mdTable(
      ['t (s)', 'fault', 'ready again at (s)', 'slowest trade, −1 s…+3 s (ms)', 'slowest lookup, −1 s…+3 s (ms)'],
      run.faults.map((e) => [
        e.t_s.toFixed(1),
        e.label,
        e.ready_t_s === undefined ? '' : e.ready_t_s.toFixed(1),
        f(e.max_trade_ms_around ?? null, 1),
        f(e.max_lookup_ms_around ?? null, 1),
      ]),
      ['r', 'l', 'r', 'r', 'r'],
    ),
    '',
    `- **errors seen by the clients: ${run.errors}**${run.errors > 0 ? ` (${Object.entries(l.errors.by_cause).map(([c, n]) => `${n} × ${c}`).join('; ')})` : ''}`,
    `- requests: ${l.requests.lookup.count} lookups, ${l.requests.trade.count} trades (${l.trades.ok} ok, ${l.trades.refused} refused with 409: not enough shares or over capacity, a normal outcome)`,
    `- trade latency: mean ${f(l.requests.trade.latency_ms.mean_ms)} ms, p50 ${f(l.requests.trade.latency_ms.p50_ms)}, p99 ${f(l.requests.trade.latency_ms.p99_ms)}, max ${f(l.requests.trade.latency_ms.max_ms)} ms`,
    `- lookup latency: mean ${f(l.requests.lookup.latency_ms.mean_ms)} ms, p99 ${f(l.requests.lookup.latency_ms.p99_ms)}, max ${f(l.requests.lookup.latency_ms.max_ms)} ms`,
    `- consistency: ${l.consistency.recorded} acknowledged orders read back, ${l.consistency.matched} matched, ${l.consistency.mismatches} mismatches, ${l.consistency.missing} missing`,
    `- replicas' order logs identical afterwards: ${run.logs_identical === null ? 'not checked' : run.logs_identical ? `yes (${run.log_length} orders${warmedUp ? ', the warm-up\'s included' : ''})` : 'NO'}`,
    `- catalog = initial − bought + sold for every stock: ${run.catalog_matches_log === null ? 'not checked' : run.catalog_matches_log ? 'yes' : 'NO'}`,
  ];
  if (run.fault_error) lines.push(`- fault script error: ${run.fault_error}`);
  if (run.check_error) lines.push(`- check error: ${run.check_error}`);
  lines.push(`- result: **${run.passed ? 'PASS' : 'FAIL'}**`, '', '![failure run](failure-run.svg)', '');
  return lines;
}

/** summary.md: setup, the table, observations, the plots and the failure run. */
export function evalMarkdown(record: EvalRecord): string {
  const c = record.config;
  const stop = c.iterations !== null ? `${c.iterations} iterations per session` : `${c.duration_s} s`;
  const repeats = c.repeats ?? 1;
  const lines = [
    `# Stock Bazaar — evaluation ${record.started_at}`,
    '',
    `- machine: ${formatMachine(record.machine)}; other processes used ${(record.background_cpu * 100).toFixed(0)} % of the CPU just before the run`,
    `- versions: ${formatVersions(record.versions)}`,
    `- commit: ${record.git.commit ?? 'unknown'}${record.git.dirty ? ' (with uncommitted changes)' : ''}`,
    `- cluster: a fresh one for every p of each sweep, so each starts from the initial catalog, and one for the failure run (catalog, 3 order replicas, front end) on loopback, the built apps, ` +
      `environment ${Object.entries(record.cluster_env).map(([k, v]) => `${k}=${v}`).join(' ')}; the client runs in the same process as this harness`,
    `- load: ${c.sessions} sessions; each p runs ${stop}` +
      `${repeats > 1 ? `, ${repeats} times, each run on its own fresh cluster (repeat by repeat: every p once, then every p again)` : ''}` +
      `; seed ${c.seed} (run i of both sweeps uses the same derived seed, so they send the same lookups)` +
      `${c.warmup_s ? `; each cluster first warmed up with ${c.warmup_s} s of load at p = 0.5, not recorded` : ''}`,
    `- wall time: ${record.wall_s === null ? '–' : `${record.wall_s.toFixed(0)} s`}${record.interrupted ? ' — **interrupted**: partial results' : ''}`,
    '',
  ];
  if (record.error) lines.push(`**The evaluation stopped on an error:** ${record.error}`, '');
  lines.push(
    '## Latency per request type (ms), throughput and cache hit ratio',
    '',
    sweepMarkdownTable(record.table),
    '',
    'Throughput counts answered lookups and trades per second over the load phase. Hit ratio = hits / (hits + misses) of the front',
    "end's cache during that p (from `GET /cache/stats` before and after the run).",
    ...(repeats > 1
      ? [
          `Each figure is the median of the ${repeats} runs' figures (counts too); the means show the lowest and highest run in brackets,`,
          'and the plots draw that range as a bar. Errors are summed over the runs. Every run is in `results.json` (`runs`).',
        ]
      : []),
    '',
    ...observations(record.table).map((o) => `- ${o}`),
    '',
    '![latency against p](latency-vs-p.svg)',
    '',
    '![hit ratio](hit-ratio.svg)',
    '',
  );
  if (record.failure_run) lines.push(...failureSection(record.failure_run, (record.config.warmup_s ?? 0) > 0));
  lines.push('## Files', '', ...record.files.map((file) => `- \`${file}\``), '');
  return `${lines.join('\n')}\n`;
}
