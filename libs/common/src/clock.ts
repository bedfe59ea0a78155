/**
 * Whole milliseconds on the monotonic clock, in the wall clock's range: the wall clock as this process
 * started (`performance.timeOrigin`) plus the monotonic time since (`performance.now()`,
 * CLOCK_MONOTONIC). Every duration a process measures in memory — a deadline, a timeout, how long
 * since a peer answered, how long a write has been running — is taken on it, never on `Date.now()`:
 * the wall clock can step (NTP's first sync after boot, `date -s`, a VM's clock corrected), and a
 * step back by a minute would let a leader cut off from its followers count them reachable for a
 * minute more, a step forward would make it give up a healthy job or end a trade's retries at once.
 *
 * In the wall clock's range so that 0, the usual "never", still means long ago, and so that a
 * reading can be shown as a date. Times that must mean the same after a restart or on another host
 * (an idempotency key's window, a row's `created_at`) stay on the wall clock. A front end's cache
 * lease has a clock of its own, which also counts a suspended host's sleep (`leaseClock`).
 */
export function monotonicNow(): number {
  // Whole milliseconds, as Date.now() gives: durations print and compare as they always have.
  return Math.floor(performance.timeOrigin + performance.now());
}
