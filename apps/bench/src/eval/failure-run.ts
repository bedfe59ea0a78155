import type { Cluster } from '@app/testkit';
import { type LoadResult, type RequestSample, runLoad } from '@app/loadgen';
import { checkpoint, sleepUnlessAborted } from '../common/lifecycle';

export type FaultKind = 'leader killed' | 'leader restarted' | 'follower killed' | 'follower restarted';

export interface FaultEvent {
  kind: FaultKind;
  /** e.g. `leader killed (order-3)`: the plot's label. */
  label: string;
  replica: number;
  /** Seconds since the load started. */
  t_s: number;
  /** For a restart: seconds since the load started when the replica answered /ping (ready). */
  ready_t_s?: number;
  /**
   * The slowest lookup and trade sent from 1 s before to 3 s after the fault (null: none sent):
   * what the fault cost the clients.
   */
  max_lookup_ms_around?: number | null;
  max_trade_ms_around?: number | null;
}

export interface FailureRunOptions {
  sessions: number;
  p: number;
  durationS: number;
  seed: number;
  /**
   * When the four faults happen, as fractions of the duration: leader killed, leader restarted,
   * follower killed, follower restarted.
   */
  schedule?: readonly [number, number, number, number];
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface FailureRunResult {
  config: { sessions: number; p: number; duration_s: number; seed: number; schedule_s: number[] };
  faults: FaultEvent[];
  /** A step of the fault script that went wrong (the load still ran to its end), if any. */
  fault_error: string | null;
  /** The load run (its per-request samples are written apart, see `samples`). */
  load: LoadResult;
  /** Errors seen by the clients (should be 0: with at most one replica down at a time, no client sees a failed request). */
  errors: number;
  /** Replicas' order logs identical after the run (null: not checked). */
  logs_identical: boolean | null;
  log_length: number | null;
  /** For every stock: 100 − bought + sold = quantity and trade volume = bought + sold. */
  catalog_matches_log: boolean | null;
  check_error: string | null;
  passed: boolean;
}

export const DEFAULT_SCHEDULE: readonly [number, number, number, number] = [0.15, 0.35, 0.55, 0.75];

/** Milliseconds since the Unix epoch, sub-millisecond (the clock the load runner's samples use). */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * Runs the load on a fresh cluster while the leader, then a follower, are SIGKILLed and restarted,
 * recording every request's latency; afterwards checks that the replicas converged and that the
 * catalog follows from the log. Returns the result and the samples (load phase only), each with
 * `t_s` relative to the start of the load.
 */
export async function failureRun(
  cluster: Cluster,
  options: FailureRunOptions,
): Promise<{ result: FailureRunResult; samples: (RequestSample & { t_s: number })[] }> {
  const { signal, log } = options;
  const schedule = (options.schedule ?? DEFAULT_SCHEDULE).map((f) => round3(f * options.durationS));
  const faults: FaultEvent[] = [];
  let faultError: string | null = null;

  const origin = epochMs();
  const since = (): number => round3((epochMs() - origin) / 1000);
  const loadPromise = runLoad({
    url: cluster.frontend,
    sessions: options.sessions,
    p: options.p,
    durationS: options.durationS,
    seed: options.seed,
    signal,
    recordSamples: true,
  });

  const waitUntil = async (t: number): Promise<void> => {
    const wait = origin + t * 1000 - epochMs();
    if (wait > 0) await sleepUnlessAborted(wait, signal);
  };
  const mark = (kind: FaultKind, replica: number): FaultEvent => {
    const event: FaultEvent = { kind, label: `${kind} (order-${replica})`, replica, t_s: since() };
    faults.push(event);
    log(`  t=${event.t_s.toFixed(1)} s  ${event.label}`);
    return event;
  };
  const restart = async (kind: FaultKind, replica: number): Promise<void> => {
    const event = mark(kind, replica);
    await cluster.startReplica(replica);
    await cluster.waitReady(replica);
    event.ready_t_s = since();
    log(`  t=${event.ready_t_s.toFixed(1)} s  order-${replica} ready`);
  };

  try {
    await waitUntil(schedule[0]);
    const leader = await cluster.leaderId();
    await cluster.kill(`order-${leader}`);
    mark('leader killed', leader);

    await waitUntil(schedule[1]);
    await restart('leader restarted', leader);

    await waitUntil(schedule[2]);
    const current = await cluster.leaderId();
    const followers = [1, 2, 3].filter((id) => id !== current && cluster.isRunning(`order-${id}`));
    // Prefer the follower that has not been down yet: the restarted one must then carry the majority.
    const follower = followers.find((id) => id !== leader) ?? followers[0];
    if (follower === undefined) throw new Error('no follower running to kill');
    await cluster.kill(`order-${follower}`);
    mark('follower killed', follower);

    await waitUntil(schedule[3]);
    await restart('follower restarted', follower);
  } catch (err: unknown) {
    if (!signal.aborted) {
      faultError = err instanceof Error ? err.message : String(err);
      log(`  fault script failed: ${faultError} (the load goes on)`);
    }
  }

  const loaded = await loadPromise;
  const { samples: raw = [], ...load } = loaded;
  checkpoint(signal);

  let logsIdentical: boolean | null = null;
  let logLength: number | null = null;
  let catalogMatches: boolean | null = null;
  let checkError: string | null = null;
  try {
    for (const id of [1, 2, 3]) {
      if (!cluster.isRunning(`order-${id}`)) await cluster.startReplica(id);
    }
    await Promise.all([1, 2, 3].map((id) => cluster.waitReady(id)));
    const orders = await cluster.converged(undefined, 30000);
    logsIdentical = true;
    logLength = orders.length;
    const stocks = await cluster.stocksTable();
    catalogMatches = stocks.every((s) => {
      const mine = orders.filter((o) => o.stock_name === s.name);
      const bought = mine.filter((o) => o.trade_type.toLowerCase() === 'buy').reduce((n, o) => n + o.quantity, 0);
      const sold = mine.filter((o) => o.trade_type.toLowerCase() === 'sell').reduce((n, o) => n + o.quantity, 0);
      return s.quantity === 100 - bought + sold && s.trade_volume === bought + sold;
    });
  } catch (err: unknown) {
    checkError = err instanceof Error ? err.message : String(err);
    if (/identical order logs/.test(checkError)) logsIdentical = false;
  }

  const samples = raw.filter((s) => s.type !== 'order_check').map((s) => ({ ...s, t_s: round3((s.sent_at_ms - origin) / 1000) }));
  for (const fault of faults) {
    const near = samples.filter((s) => s.t_s >= fault.t_s - 1 && s.t_s <= fault.t_s + 3);
    const max = (type: string): number | null => {
      const xs = near.filter((s) => s.type === type).map((s) => s.latency_ms);
      return xs.length === 0 ? null : Math.max(...xs);
    };
    fault.max_lookup_ms_around = max('lookup');
    fault.max_trade_ms_around = max('trade');
  }
  const result: FailureRunResult = {
    config: { sessions: options.sessions, p: options.p, duration_s: options.durationS, seed: options.seed, schedule_s: schedule },
    faults,
    fault_error: faultError,
    load,
    errors: load.errors.total,
    logs_identical: logsIdentical,
    log_length: logLength,
    catalog_matches_log: catalogMatches,
    check_error: checkError,
    passed: load.passed && faultError === null && faults.length === 4 && logsIdentical === true && catalogMatches === true,
  };
  return { result, samples };
}

/** The samples as CSV: `t_s,type,latency_ms,status,outcome`. */
export function samplesCsv(samples: readonly (RequestSample & { t_s: number })[]): string {
  const lines = ['t_s,type,latency_ms,status,outcome'];
  for (const s of samples) lines.push(`${s.t_s},${s.type},${s.latency_ms},${s.status ?? ''},${s.outcome}`);
  return `${lines.join('\n')}\n`;
}

/** Reads {@link samplesCsv}'s output back (for re-plotting). */
export function parseSamplesCsv(text: string): (RequestSample & { t_s: number })[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines[0] !== 't_s,type,latency_ms,status,outcome') throw new Error('not a failure-run samples file');
  return lines.slice(1).map((line) => {
    const [t, type, latency, status, outcome] = line.split(',');
    return {
      t_s: Number(t),
      type: type as RequestSample['type'],
      sent_at_ms: Number.NaN,
      latency_ms: Number(latency),
      status: status === '' ? null : Number(status),
      outcome: outcome as RequestSample['outcome'],
    };
  });
}
