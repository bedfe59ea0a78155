import type { FetchLike } from '../http/bazaar-client';
import { DEFAULT_TIMEOUT_MS, DEFAULT_URL } from '../http/bazaar-client';
import { UsageError } from '../usage-error';
import { CONNECTION_BACKOFF, type BackoffPolicy } from './backoff';
import { randomSeed } from './prng';

/** Stock1 … Stock10, the bazaar's initial catalog. */
const DEFAULT_STOCKS: readonly string[] = Array.from({ length: 10 }, (_, i) => `Stock${i + 1}`);

export const LOAD_DEFAULTS = {
  sessions: 5,
  p: 0.5,
  iterations: 100,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  progressIntervalMs: 250,
  maxProblemDetails: 20,
} as const;

export const LOAD_LIMITS = {
  maxSessions: 1000,
  maxIterations: 10_000_000,
  maxDurationS: 7 * 24 * 3600,
  maxTimeoutMs: 600_000,
  maxTradeQuantity: 10,
} as const;

/** Options of one load run; everything but the stop condition has a default. */
export interface LoadOptions {
  /** Front end base URL (default `http://127.0.0.1:30001`). */
  url?: string;
  /** Concurrent sessions (default 5). */
  sessions?: number;
  /** Probability, after a lookup that shows shares, of trading that stock (default 0.5). */
  p?: number;
  /** Iterations per session. Give this or `durationS`, not both (default 100 iterations). */
  iterations?: number;
  /** Run for this many seconds instead of a number of iterations. */
  durationS?: number;
  /** Seed of the run's PRNG (a random one is chosen and reported when absent). */
  seed?: number;
  /** Per-request timeout in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Stocks to pick from (default Stock1…Stock10). */
  stocks?: readonly string[];
  /** Send trade_type in random letter case (`buy`, `Buy`, `SELL`…) to check spelling is kept. */
  mixedCase?: boolean;
  /** Order read-backs in flight at once during the check (default: the number of sessions). */
  checkConcurrency?: number;
  /** Most order problems listed in the result (default 20). */
  maxProblemDetails?: number;
  /** Aborting stops the sessions after their current iteration; the check still runs. */
  signal?: AbortSignal;
  /** Called every `progressIntervalMs` while the run goes on, and at each phase change. */
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMs?: number;
  /**
   * Keep one {@link RequestSample} per request (send time, latency, type, outcome) and return them
   * as `samples` in the result, for latency-over-time plots. Off by default: a sample costs about
   * 100 bytes of memory, and the result's JSON grows by as much.
   */
  recordSamples?: boolean;
  /** A session's wait after a request got no answer (default 50 ms doubling to 1 s; see {@link CONNECTION_BACKOFF}). */
  backoff?: BackoffPolicy;
  /** Injected for tests: a fake `fetch` that requests go through instead of `node:http`. */
  fetchImpl?: FetchLike;
}

/** {@link LoadOptions} validated, with defaults applied. */
export interface ResolvedLoadOptions {
  url: string;
  sessions: number;
  p: number;
  iterations: number | null;
  durationS: number | null;
  seed: number;
  timeoutMs: number;
  stocks: readonly string[];
  mixedCase: boolean;
  checkConcurrency: number;
  maxProblemDetails: number;
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMs: number;
  recordSamples: boolean;
  backoff: BackoffPolicy;
  fetchImpl?: FetchLike;
}

/** A snapshot of a run in progress. */
export interface LoadProgress {
  phase: 'load' | 'check' | 'done';
  /** Seconds since the load phase started. */
  elapsed_s: number;
  iterations_done: number;
  /** sessions × iterations, or null for a timed run. */
  iterations_total: number | null;
  duration_s: number | null;
  /** Requests sent. */
  requests: number;
  /** Requests that got an HTTP response (any status): what req/s counts. */
  answered: number;
  errors: number;
  orders: number;
  checked: number;
  to_check: number;
}

function isIntIn(value: number, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= min && value <= max;
}

/**
 * Throws a {@link UsageError} naming the option (by its command-line flag) when it is invalid:
 * one http(s) URL, or several separated by commas (front ends tried in turn).
 */
export function validateUrl(url: string): string {
  const urls = url.split(',').map((u) => u.trim());
  for (const one of urls) {
    let parsed: URL;
    try {
      parsed = new URL(one);
    } catch {
      throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL} (got ${JSON.stringify(url)})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL} (got ${JSON.stringify(url)})`);
    }
  }
  return urls.join(',');
}

export function validateTimeout(timeoutMs: number): number {
  if (!isIntIn(timeoutMs, 1, LOAD_LIMITS.maxTimeoutMs)) {
    throw new UsageError(`--timeout must be an integer number of milliseconds between 1 and ${LOAD_LIMITS.maxTimeoutMs} (got ${timeoutMs})`);
  }
  return timeoutMs;
}

/**
 * Validates load options and applies the defaults. Messages name the command-line flag, since
 * that is how most runs are configured.
 */
export function resolveLoadOptions(options: LoadOptions): ResolvedLoadOptions {
  const url = validateUrl(options.url ?? DEFAULT_URL);
  const sessions = options.sessions ?? LOAD_DEFAULTS.sessions;
  if (!isIntIn(sessions, 1, LOAD_LIMITS.maxSessions)) {
    throw new UsageError(`--sessions must be an integer between 1 and ${LOAD_LIMITS.maxSessions} (got ${sessions})`);
  }
  const p = options.p ?? LOAD_DEFAULTS.p;
  if (!Number.isFinite(p) || p < 0 || p > 1) {
    throw new UsageError(`--p must be a probability between 0 and 1 (got ${p})`);
  }
  if (options.iterations !== undefined && options.durationS !== undefined) {
    throw new UsageError('--iterations and --duration cannot be used together: give a number of iterations per session or a duration in seconds');
  }
  let iterations: number | null = null;
  let durationS: number | null = null;
  if (options.durationS !== undefined) {
    durationS = options.durationS;
    if (!Number.isFinite(durationS) || durationS <= 0 || durationS > LOAD_LIMITS.maxDurationS) {
      throw new UsageError(`--duration must be a number of seconds greater than 0 and at most ${LOAD_LIMITS.maxDurationS} (got ${durationS})`);
    }
  } else {
    iterations = options.iterations ?? LOAD_DEFAULTS.iterations;
    if (!isIntIn(iterations, 1, LOAD_LIMITS.maxIterations)) {
      throw new UsageError(`--iterations must be an integer between 1 and ${LOAD_LIMITS.maxIterations} (got ${iterations})`);
    }
  }
  const seed = options.seed ?? randomSeed();
  if (!isIntIn(seed, 0, 2 ** 32 - 1)) {
    throw new UsageError(`--seed must be an integer between 0 and ${2 ** 32 - 1} (got ${seed})`);
  }
  const timeoutMs = validateTimeout(options.timeoutMs ?? LOAD_DEFAULTS.timeoutMs);
  const stocks = options.stocks ?? DEFAULT_STOCKS;
  if (stocks.length === 0 || stocks.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new UsageError('stocks must be a non-empty list of stock names');
  }
  const checkConcurrency = options.checkConcurrency ?? sessions;
  if (!isIntIn(checkConcurrency, 1, LOAD_LIMITS.maxSessions)) {
    throw new UsageError(`checkConcurrency must be an integer between 1 and ${LOAD_LIMITS.maxSessions} (got ${checkConcurrency})`);
  }
  const maxProblemDetails = options.maxProblemDetails ?? LOAD_DEFAULTS.maxProblemDetails;
  if (!isIntIn(maxProblemDetails, 0, 1_000_000)) {
    throw new UsageError(`maxProblemDetails must be a non-negative integer (got ${maxProblemDetails})`);
  }
  const progressIntervalMs = options.progressIntervalMs ?? LOAD_DEFAULTS.progressIntervalMs;
  if (!isIntIn(progressIntervalMs, 1, 3_600_000)) {
    throw new UsageError(`progressIntervalMs must be a positive integer (got ${progressIntervalMs})`);
  }
  return {
    url,
    sessions,
    p,
    iterations,
    durationS,
    seed,
    timeoutMs,
    stocks,
    mixedCase: options.mixedCase ?? false,
    checkConcurrency,
    maxProblemDetails,
    signal: options.signal,
    onProgress: options.onProgress,
    progressIntervalMs,
    recordSamples: options.recordSamples === true,
    backoff: options.backoff ?? CONNECTION_BACKOFF,
    fetchImpl: options.fetchImpl,
  };
}
