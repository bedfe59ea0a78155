import { setTimeout as wait } from 'node:timers/promises';

/** Sleeping, and waiting with a bound. */
export function sleep(ms: number): Promise<void> {
  return wait(ms);
}

/**
 * Waits for `promise` at most `ms`: true when it resolved in time, false when the time ran out (a
 * rejection in time is passed on). The timer is cleared either way — unlike a race with
 * {@link sleep}, which leaves it pending and keeps the process (or Jest) alive until it fires.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
