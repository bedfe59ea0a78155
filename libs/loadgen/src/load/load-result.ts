import type { RequestType } from '../http/bazaar-client';
import type { LatencySummary } from '../stats/latency-stats';
import type { ConsistencyReport } from './consistency';

/** The configuration a run used, as reported (and written to JSON). */
export interface LoadConfig {
  url: string;
  sessions: number;
  p: number;
  /** Iterations per session, or null for a timed run. */
  iterations: number | null;
  /** Duration in seconds, or null for a run of a number of iterations. */
  duration_s: number | null;
  seed: number;
  timeout_ms: number;
  mixed_case: boolean;
  stocks: string[];
  /** ISO-8601 time the load phase started. */
  started_at: string;
}

/** Counts and latency of one request type. */
export interface RequestStats {
  /** Requests sent, whatever their outcome. */
  count: number;
  /** Transport failures, 5xx, unexpected statuses and malformed 200 bodies. */
  errors: number;
  /** Over the requests that received an HTTP response (transport failures have no latency). */
  latency_ms: LatencySummary;
  /**
   * Requests that got an HTTP response (any status: the `latency_ms.count`) per second of the
   * phase they belong to. Requests that got none (refused, reset, timed out) are in `count` and
   * `errors` only: a dead front end has a throughput of 0, not that of the client's error loop.
   */
  throughput_rps: number;
}

export interface TradeCounts {
  attempted: number;
  /** 200 with an order number. */
  ok: number;
  /** 409 "Trade failed!": not enough shares or over capacity — a normal outcome. */
  refused: number;
  errors: number;
  /**
   * Trades sent more than once because a sending got no answer (refused, reset, timed out): each
   * resent with its own Idempotency-Key, which the front end answers with the trade's one outcome.
   * Such a trade is counted once — in `ok`, `refused` or `errors` by its last answer, and once in
   * the trade requests' `count`, its latency from its first sending to that answer — and here.
   */
  resent: number;
  /** Lookups that showed no shares, so no trade was considered. */
  skipped_sold_out: number;
}

/**
 * One request of a run, kept only when the run was asked to (`recordSamples`), for plotting
 * latency over time (for example across replica crashes).
 */
export interface RequestSample {
  type: RequestType;
  /** When the request was sent, in milliseconds since the Unix epoch (fractional). */
  sent_at_ms: number;
  /** Time until the response was read, or until the transport failure, in milliseconds. */
  latency_ms: number;
  /** HTTP status, or null when no response came (transport failure). */
  status: number | null;
  /**
   * `ok`: the expected 200; `refused`: a trade's 409 (a normal outcome); `missing`: an order
   * check's 404 (a consistency problem, not a request error); `error`: counted as an error.
   */
  outcome: 'ok' | 'refused' | 'missing' | 'error';
}

/** The outcome of {@link runLoad}: plain JSON-ready data. */
export interface LoadResult {
  version: 1;
  config: LoadConfig;
  /** Per request type. Lookups and trades belong to the load phase, order checks to the check phase. */
  requests: Record<RequestType, RequestStats>;
  /** Lookups and trades together, over the load phase. */
  load_total: RequestStats;
  trades: TradeCounts;
  /**
   * Sessions' waits after requests that got no answer (exponential backoff, see `load/backoff.ts`):
   * how many, and their total in seconds. Absent in results of older clients.
   */
  backoff?: { waits: number; waited_s: number };
  consistency: ConsistencyReport;
  /** Errors of every request type; `by_cause` counts e.g. `trade: HTTP 503 …`. */
  errors: { total: number; by_cause: Record<string, number> };
  iterations_completed: number;
  /** True when the run was stopped (signal aborted) before its iterations or duration ran out. */
  interrupted: boolean;
  timing: {
    finished_at: string;
    load_s: number;
    check_s: number;
    wall_s: number;
  };
  /** No errors, no mismatches (duplicates included), nothing missing. */
  passed: boolean;
  /** Every request in the order it completed; present only when `recordSamples` was set. */
  samples?: RequestSample[];
}
