import type { CacheStats } from '@app/contracts';
import { BazaarClient, DEFAULT_URL, type FetchLike } from '../http/bazaar-client';
import { errorMessage, isCacheStats } from '../http/response-guards';
import { resolveLoadOptions, type LoadOptions, type LoadProgress } from '../load/load-options';
import type { LoadResult } from '../load/load-result';
import { runLoad } from '../load/load-runner';
import { deriveSeed, randomSeed } from '../load/prng';
import { UsageError } from '../usage-error';

/** The lab's experiment: these probabilities of trading, 5 sessions each. */
export const SWEEP_DEFAULT_PS: readonly number[] = [0, 0.2, 0.4, 0.6, 0.8];
const SWEEP_MAX_POINTS = 101;

export interface SweepOptions {
  /** Front end base URL (default `http://127.0.0.1:30001`). */
  url?: string;
  /** Concurrent sessions of every run (default 5). */
  sessions?: number;
  /** The probabilities of trading, run in this order (default 0, 0.2, 0.4, 0.6, 0.8). */
  ps?: readonly number[];
  /** Iterations per session of each run (default: the load run's default); not with `durationS`. */
  iterations?: number;
  /** Seconds of each run instead of a number of iterations. */
  durationS?: number;
  /**
   * Seed of the sweep; run i gets a seed derived from it (the same for the same i, whatever p is),
   * so two sweeps with the same seed send the same lookups. Random when absent, and reported.
   */
  seed?: number;
  timeoutMs?: number;
  /** Aborting stops the run under way (which still checks its orders) and skips the rest. */
  signal?: AbortSignal;
  /** Called as each run starts: its index, p and seed. */
  onRunStart?: (index: number, p: number, seed: number) => void;
  /** Progress of the run under way. */
  onProgress?: (progress: LoadProgress) => void;
  /** Called as each run finishes. */
  onPoint?: (point: SweepPoint, index: number) => void;
  progressIntervalMs?: number;
  /** Injected for tests: a fake `fetch` that requests go through instead of `node:http`. */
  fetchImpl?: FetchLike;
}

/** The counters of `GET /cache/stats` that grow; a run's change of them is its cache activity. */
export interface CacheCounters {
  hits: number;
  misses: number;
  evictions: number;
  invalidations: number;
  stale_fills_dropped: number;
}

/** One run of the sweep: its p, the server's cache before and after, and the load result. */
export interface SweepPoint {
  p: number;
  seed: number;
  /** `GET /cache/stats` just before the run, or null when it could not be read. */
  cache_before: CacheStats | null;
  /** `GET /cache/stats` just after the run (order check included), or null. */
  cache_after: CacheStats | null;
  /** after − before, or null when either is missing (or the counters went back: a restart). */
  cache_delta: CacheCounters | null;
  /**
   * hits / (hits + misses) over this run's lookups; null when the cache is off, the stats could
   * not be read, or no lookup was counted.
   */
  hit_ratio: number | null;
  result: LoadResult;
}

/** One line of the sweep's table: the figures a plot or a summary needs. */
export interface SweepRow {
  p: number;
  cache: 'on' | 'off' | 'unknown';
  lookups: number;
  lookup_mean_ms: number | null;
  lookup_p50_ms: number | null;
  lookup_p90_ms: number | null;
  lookup_p99_ms: number | null;
  trades: number;
  trade_mean_ms: number | null;
  trade_p50_ms: number | null;
  trade_p90_ms: number | null;
  trade_p99_ms: number | null;
  /** Lookups and trades per second over the load phase. */
  throughput_rps: number;
  hit_ratio: number | null;
  trades_ok: number;
  trades_refused: number;
  errors: number;
  passed: boolean;
}

export interface SweepResult {
  version: 1;
  kind: 'sweep';
  config: {
    url: string;
    sessions: number;
    ps: number[];
    iterations: number | null;
    duration_s: number | null;
    seed: number;
    timeout_ms: number;
    started_at: string;
  };
  /** Whether the front end's cache was on, as it said before the first run (null: unknown). */
  cache_enabled: boolean | null;
  points: SweepPoint[];
  table: SweepRow[];
  /**
   * Problems reading `GET /cache/stats` (the sweep goes on without hit ratios), and runs in which
   * many lookups found their stock sold out (fewer trades than p asks for).
   */
  warnings: string[];
  /** True when the sweep was stopped before every p had run. */
  interrupted: boolean;
  timing: { finished_at: string; wall_s: number };
  /** Every run passed (no error, mismatch or missing order) and none was skipped. */
  passed: boolean;
}

/** Share of a run's lookups that found the stock sold out above which the sweep warns. */
const SOLD_OUT_WARNING_SHARE = 0.2;

/**
 * A session trades only a stock it finds in stock, and a stock bought down to exactly 0 stays
 * there, so on one bazaar later runs find more of them sold out and try fewer trades than p says.
 */
function soldOutWarning(p: number, result: LoadResult): string | null {
  const lookups = result.requests.lookup.count;
  const share = lookups === 0 ? 0 : result.trades.skipped_sold_out / lookups;
  if (p === 0 || share <= SOLD_OUT_WARNING_SHARE) return null;
  return (
    `p=${p}: ${(share * 100).toFixed(0)} % of lookups found their stock sold out and tried no trade, so this run traded ` +
    `less than p asks for (stock quantities carry over from run to run; a fresh bazaar per p avoids it, as npm run eval does)`
  );
}

function validatePs(ps: readonly number[]): number[] {
  if (ps.length === 0 || ps.length > SWEEP_MAX_POINTS) {
    throw new UsageError(`--p must list between 1 and ${SWEEP_MAX_POINTS} probabilities (got ${ps.length})`);
  }
  for (const p of ps) {
    if (!Number.isFinite(p) || p < 0 || p > 1) throw new UsageError(`--p must be a probability between 0 and 1 (got ${p})`);
  }
  return [...ps];
}

/**
 * Checks sweep options (the list of p, then everything a load run checks) and throws a
 * {@link UsageError} naming the flag when one is wrong.
 */
export function validateSweepOptions(options: SweepOptions): void {
  resolveSweep(options);
}

function resolveSweep(options: SweepOptions): { ps: number[]; seed: number; first: ReturnType<typeof resolveLoadOptions> } {
  const ps = validatePs(options.ps ?? SWEEP_DEFAULT_PS);
  const seed = options.seed ?? randomSeed();
  // Validates sessions, the stop condition, URL, timeout and seed once, up front.
  const first = resolveLoadOptions(runOptions(options, ps[0], seed));
  return { ps, seed, first };
}

/** The load options of run `index`; throws a {@link UsageError} for bad options. */
function runOptions(options: SweepOptions, p: number, seed: number): LoadOptions {
  return {
    url: options.url,
    sessions: options.sessions,
    p,
    iterations: options.iterations,
    durationS: options.durationS,
    seed,
    timeoutMs: options.timeoutMs,
    progressIntervalMs: options.progressIntervalMs,
    fetchImpl: options.fetchImpl,
  };
}

/** Counters after − before; null when a counter went back (the front end restarted in between). */
export function cacheDelta(before: CacheStats | null, after: CacheStats | null): CacheCounters | null {
  if (!before || !after) return null;
  const delta: CacheCounters = {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    evictions: after.evictions - before.evictions,
    invalidations: after.invalidations - before.invalidations,
    stale_fills_dropped: after.stale_fills_dropped - before.stale_fills_dropped,
  };
  return Object.values(delta).some((v) => v < 0) ? null : delta;
}

/** hits / (hits + misses), rounded to 4 decimals; null when the cache is off or nothing was counted. */
export function hitRatio(delta: CacheCounters | null, enabled: boolean | undefined): number | null {
  if (!delta || enabled !== true) return null;
  const lookups = delta.hits + delta.misses;
  return lookups === 0 ? null : Math.round((delta.hits / lookups) * 10000) / 10000;
}

function sweepRow(point: SweepPoint): SweepRow {
  const { result } = point;
  const lookup = result.requests.lookup;
  const trade = result.requests.trade;
  const enabled = point.cache_before?.enabled ?? point.cache_after?.enabled;
  return {
    p: point.p,
    cache: enabled === undefined ? 'unknown' : enabled ? 'on' : 'off',
    lookups: lookup.count,
    lookup_mean_ms: lookup.latency_ms.mean_ms,
    lookup_p50_ms: lookup.latency_ms.p50_ms,
    lookup_p90_ms: lookup.latency_ms.p90_ms,
    lookup_p99_ms: lookup.latency_ms.p99_ms,
    trades: trade.count,
    trade_mean_ms: trade.latency_ms.mean_ms,
    trade_p50_ms: trade.latency_ms.p50_ms,
    trade_p90_ms: trade.latency_ms.p90_ms,
    trade_p99_ms: trade.latency_ms.p99_ms,
    throughput_rps: result.load_total.throughput_rps,
    hit_ratio: point.hit_ratio,
    trades_ok: result.trades.ok,
    trades_refused: result.trades.refused,
    errors: result.errors.total,
    passed: result.passed,
  };
}

/**
 * The evaluation sweep against a running bazaar: one load run per p (same sessions and length),
 * one after the other, reading the front end's `GET /cache/stats` before and after each so that a
 * hit ratio per p can be computed. Throws a `UsageError` for invalid options before sending
 * anything; request failures are counted in the runs' results, never thrown.
 */
export async function runSweep(options: SweepOptions = {}): Promise<SweepResult> {
  const { ps, seed, first } = resolveSweep(options);
  const client = new BazaarClient({ url: options.url ?? DEFAULT_URL, timeoutMs: first.timeoutMs, fetchImpl: options.fetchImpl });
  const warnings: string[] = [];
  const readStats = async (when: string): Promise<CacheStats | null> => {
    const outcome = await client.cacheStats();
    if (outcome.kind === 'response' && outcome.status === 200 && isCacheStats(outcome.body)) return outcome.body;
    const why =
      outcome.kind === 'transport'
        ? outcome.error
        : `HTTP ${outcome.status}${errorMessage(outcome.body) ? ` ${errorMessage(outcome.body)}` : outcome.status === 200 ? ' with an unexpected body' : ''}`;
    warnings.push(`GET /cache/stats ${when} failed: ${why}`);
    return null;
  };

  const startedAt = new Date();
  const startNs = process.hrtime.bigint();
  const points: SweepPoint[] = [];
  let cacheEnabled: boolean | null = null;

  for (let i = 0; i < ps.length; i++) {
    if (options.signal?.aborted) break;
    const p = ps[i];
    const runSeed = deriveSeed(seed, i);
    const before = await readStats(`before p=${p}`);
    if (i === 0) cacheEnabled = before ? before.enabled : null;
    options.onRunStart?.(i, p, runSeed);
    const result = await runLoad({ ...runOptions(options, p, runSeed), signal: options.signal, onProgress: options.onProgress });
    const after = await readStats(`after p=${p}`);
    const delta = cacheDelta(before, after);
    const point: SweepPoint = {
      p,
      seed: runSeed,
      cache_before: before,
      cache_after: after,
      cache_delta: delta,
      hit_ratio: hitRatio(delta, before?.enabled ?? after?.enabled),
      result,
    };
    points.push(point);
    const soldOut = soldOutWarning(p, result);
    if (soldOut) warnings.push(soldOut);
    options.onPoint?.(point, i);
    if (result.interrupted) break;
  }

  const interrupted = points.length < ps.length || points.some((pt) => pt.result.interrupted);
  return {
    version: 1,
    kind: 'sweep',
    config: {
      url: first.url,
      sessions: first.sessions,
      ps,
      iterations: first.iterations,
      duration_s: first.durationS,
      seed,
      timeout_ms: first.timeoutMs,
      started_at: startedAt.toISOString(),
    },
    cache_enabled: cacheEnabled,
    points,
    table: points.map(sweepRow),
    warnings,
    interrupted,
    timing: { finished_at: new Date().toISOString(), wall_s: Math.round(Number(process.hrtime.bigint() - startNs) / 1e6) / 1000 },
    passed: !interrupted && points.every((pt) => pt.result.passed),
  };
}
