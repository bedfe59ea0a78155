import { setTimeout as sleep } from 'node:timers/promises';

/** Exponential backoff: the first wait, the cap, and the growth per further failure. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/**
 * A load session's wait after a request got no answer at all (refused, reset, timed out): 50 ms,
 * doubling to at most 1 s, back to 50 ms after the next answer. Without it, a session whose
 * front end is down retries in a tight loop: the run spins on refusals and its figures measure
 * nothing but that loop.
 */
export const CONNECTION_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 1000, factor: 2 };

/** One session's backoff state: consecutive failures since the last answer. */
export class Backoff {
  private failures = 0;

  constructor(private readonly policy: BackoffPolicy = CONNECTION_BACKOFF) {
    if (!(policy.initialMs > 0 && policy.maxMs >= policy.initialMs && policy.factor >= 1)) {
      throw new RangeError(`invalid backoff policy ${JSON.stringify(policy)}`);
    }
  }

  /** Records a failure and returns how long to wait before the next request (ms). */
  fail(): number {
    const { initialMs, maxMs, factor } = this.policy;
    const delay = Math.min(maxMs, initialMs * Math.pow(factor, this.failures));
    this.failures++;
    return delay;
  }

  /** Records an answer: the next failure waits the initial delay again. */
  succeed(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (an abort ends the wait, it is no error). */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}
