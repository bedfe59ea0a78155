import { renderTable } from '@app/loadgen';
import type { GitInfo, MachineInfo } from '../common/format';
import type { Measurement } from './cannon';
import { median, ratio, type Scenario } from './scenarios';
import type { TargetVerdict } from './targets';

/** One scenario's figures in the report: the medians over its measured runs. */
export interface ScenarioRecord {
  name: string;
  description: string;
  request: string;
  connections: number;
  duration_s: number;
  /** Every measured run (the warm-up is not included). */
  runs: Measurement[];
  /** Medians over the runs. */
  requests_per_s: number;
  latency_ms: { mean: number | null; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  /** Lowest and highest req/s over the runs: the spread to expect between runs. */
  requests_per_s_range: [number, number];
  /** Summed over the runs. */
  responses: number;
  non_2xx: number;
  errors: number;
  /** Which ceiling scenario the ratio is taken against, and the ratio of req/s. */
  ceiling: string | null;
  ratio_to_ceiling: number | null;
  /** Median over the runs of the CPU all bazaar processes used per response, in ms (null for a ceiling, or off Linux). */
  cpu_ms_per_request: number | null;
  /** The same per process (`frontend`, `catalog`, `order-1`…): each one's median over the runs. */
  cpu_ms_per_request_by_process: Record<string, number> | null;
  /** What was checked around the run (cache hits, cache off, CPU, …). */
  checks: Record<string, unknown>;
}

export interface BenchRecord {
  version: 1;
  kind: 'bench';
  started_at: string;
  wall_s: number | null;
  machine: MachineInfo;
  versions: Record<string, string>;
  git: GitInfo;
  /** Share of the CPU other processes used just before the run (0–1). */
  background_cpu: number;
  /** Each bazaar process's CPU at rest, in ms per second (null without a cluster, or off Linux). */
  cluster_idle_cpu_ms_per_s: Record<string, number> | null;
  settings: {
    connections: number;
    duration_s: number;
    warmup_s: number;
    runs: number;
    /** The environment every bazaar process got; everything else is the apps' defaults. */
    cluster_env: Record<string, string>;
    notes: string[];
  };
  warnings: string[];
  scenarios: ScenarioRecord[];
  /** The targets this run's scenarios can judge (see targets.ts). */
  targets: TargetVerdict[];
  interrupted: boolean;
  error: string | null;
}

function num(v: number | null, digits = 3): string {
  return v === null ? '-' : v.toFixed(digits);
}

/** The console table: scenario, conns, req/s, p50/p90/p99 (ms), ratio to ceiling, non-2xx, errors. */
export function formatBenchTable(scenarios: readonly ScenarioRecord[]): string {
  const multi = scenarios.some((s) => s.runs.length > 1);
  const header = ['scenario', 'conns', 'req/s', ...(multi ? ['req/s range'] : []), 'p50 ms', 'p90 ms', 'p99 ms', 'vs ceiling', 'CPU ms/req', 'non-2xx', 'errors'];
  const rows = scenarios.map((s) => [
    s.name,
    String(s.connections),
    s.requests_per_s.toFixed(0),
    ...(multi ? [`${s.requests_per_s_range[0].toFixed(0)}–${s.requests_per_s_range[1].toFixed(0)}`] : []),
    num(s.latency_ms.p50),
    num(s.latency_ms.p90),
    num(s.latency_ms.p99),
    s.ratio_to_ceiling === null ? '-' : `${(s.ratio_to_ceiling * 100).toFixed(1)} %`,
    num(s.cpu_ms_per_request ?? null),
    String(s.non_2xx),
    String(s.errors),
  ]);
  const align = header.map((_, i) => (i === 0 ? 'left' : 'right') as 'left' | 'right');
  return renderTable(header, rows, align);
}

/** Per scenario, this run against an earlier one (`--compare`): req/s and p99 change in percent. */
export function formatComparison(current: readonly ScenarioRecord[], previous: readonly ScenarioRecord[], label: string): string {
  const change = (now: number | null, before: number | null): string => {
    if (now === null || before === null || before === 0) return '-';
    const pct = ((now - before) / before) * 100;
    return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
  };
  const rows = current.map((s) => {
    const old = previous.find((p) => p.name === s.name && p.connections === s.connections);
    return [
      s.name,
      old ? old.requests_per_s.toFixed(0) : '-',
      s.requests_per_s.toFixed(0),
      old ? change(s.requests_per_s, old.requests_per_s) : '-',
      old ? num(old.latency_ms.p99) : '-',
      num(s.latency_ms.p99),
      old ? change(s.latency_ms.p99, old.latency_ms.p99) : '-',
    ];
  });
  return `compared with ${label}:\n${renderTable(
    ['scenario', 'req/s before', 'req/s now', 'change', 'p99 before', 'p99 now', 'change'],
    rows,
    ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
  )}`;
}

/** Per scenario: medians over its runs, the req/s range, and the median of the per-round ratios to its ceiling. */
export function aggregate(
  scenarios: readonly Scenario[],
  runsOf: ReadonlyMap<string, Measurement[]>,
  checksOf: ReadonlyMap<string, Record<string, unknown>[]>,
  durationS: number,
): ScenarioRecord[] {
  const out: ScenarioRecord[] = [];
  for (const scenario of scenarios) {
    const runs = runsOf.get(scenario.name) ?? [];
    if (runs.length === 0) continue;
    const rps = runs.map((r) => r.requests_per_s);
    const med = (pick: (m: Measurement) => number | null): number | null => median(runs.map(pick).filter((v): v is number => v !== null));
    const ceilingRuns = scenario.ceiling ? (runsOf.get(scenario.ceiling) ?? []) : [];
    const cpu = median((checksOf.get(scenario.name) ?? []).map((c) => c.cpu_ms_per_request).filter((v): v is number => typeof v === 'number'));
    const ratios = runs.flatMap((r, i) => (ceilingRuns[i] ? [ratio(r.requests_per_s, ceilingRuns[i].requests_per_s)] : [])).filter((v): v is number => v !== null);
    out.push({
      name: scenario.name,
      description: scenario.description,
      request: scenario.request,
      connections: runs[0].connections,
      duration_s: durationS,
      runs,
      requests_per_s: median(rps) ?? 0,
      latency_ms: {
        mean: med((m) => m.latency_ms.mean_ms),
        p50: med((m) => m.latency_ms.p50_ms),
        p90: med((m) => m.latency_ms.p90_ms),
        p99: med((m) => m.latency_ms.p99_ms),
        max: Math.max(...runs.map((m) => m.latency_ms.max_ms ?? 0)),
      },
      requests_per_s_range: [Math.min(...rps), Math.max(...rps)],
      responses: runs.reduce((n, r) => n + r.responses, 0),
      non_2xx: runs.reduce((n, r) => n + r.non_2xx, 0),
      errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
      ceiling: scenario.ceiling,
      ratio_to_ceiling: median(ratios) === null ? null : Math.round((median(ratios) as number) * 1000) / 1000,
      cpu_ms_per_request: cpu,
      cpu_ms_per_request_by_process: medianByProcess((checksOf.get(scenario.name) ?? []).map((c) => c.cpu_ms_per_request_by_process)),
      checks: { per_run: checksOf.get(scenario.name) ?? [] },
    });
  }
  return out;
}

/** Per process, the median of its figure over the runs that have one; null when no run has any. */
export function medianByProcess(perRun: readonly unknown[]): Record<string, number> | null {
  const runs = perRun.filter((r): r is Record<string, number> => typeof r === 'object' && r !== null);
  if (runs.length === 0) return null;
  const out: Record<string, number> = {};
  for (const name of Object.keys(runs[0])) {
    const m = median(runs.map((r) => r[name]).filter((v): v is number => typeof v === 'number'));
    if (m !== null) out[name] = m;
  }
  return out;
}
