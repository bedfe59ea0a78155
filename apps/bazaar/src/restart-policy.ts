/** How the supervisor restarts a service that ended without being asked to. */
export interface RestartOptions {
  /** Restart at all (`--no-restart` or `RESTART=off` turns it off). */
  enabled: boolean;
  /**
   * Delay before the first restart of a service another process stands in for (a replica among
   * several, one of several front ends), so that the failover is visible first. A service nothing
   * stands in for (the catalog, a lone front end or replica) starts again at once: a delay would
   * only lengthen the outage.
   */
  delayMs: number;
  /** The delay doubles for each crash in a row, up to this. */
  maxDelayMs: number;
  /** A process that ran at least this long was healthy: its next crash starts from `delayMs` again. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART: RestartOptions = { enabled: true, delayMs: 3000, maxDelayMs: 60_000, stableAfterMs: 30_000 };

/** The least wait before the second restart of a crash loop, whatever RESTART_DELAY_MS says. */
export const MIN_BACKOFF_MS = 500;

/**
 * The delay before restarting a process on its `crashesInARow`th crash in a row (1 for the
 * first): `delayMs` (0 when `standIn` is false: nothing serves in its place meanwhile), doubled
 * for each earlier crash that came soon after its start, capped at `maxDelayMs`.
 */
export function restartDelay(opts: RestartOptions, crashesInARow: number, standIn = true): number {
  const doublings = Math.max(0, Math.min(crashesInARow - 1, 30));
  // A crash in a row waits at least MIN_BACKOFF_MS, doubled likewise: with no delay a crash loop
  // would otherwise respawn the service as fast as Node starts, for ever.
  const floor = doublings === 0 ? 0 : MIN_BACKOFF_MS * 2 ** (doublings - 1);
  const first = standIn ? opts.delayMs : 0;
  return Math.min(opts.maxDelayMs, Math.max(first * 2 ** doublings, floor));
}

/**
 * Counts crashes in a row: a run that ended before the service was ready, and sooner than
 * `stableAfterMs`, continues the streak; a run in which it became ready, or a longer one, was
 * healthy and resets it. (An operator killing a leader again, to watch the failover twice, is no
 * crash loop: the delay stays the first.) For a service nothing stands in for (`standIn` false),
 * whose first restart is at once, only a run of `stableAfterMs` resets it: one that dies soon
 * after each start, ready or not, is otherwise started again back to back for ever.
 */
export function nextStreak(opts: RestartOptions, previousStreak: number, ranMs: number, becameReady: boolean, standIn = true): number {
  return (becameReady && standIn) || ranMs >= opts.stableAfterMs ? 1 : previousStreak + 1;
}

/** How a process ended, in words: `was killed by SIGKILL`, `exited with code 1`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  return `exited with code ${code ?? 'unknown'}`;
}

/** Parses a millisecond setting, or throws a one-line message naming it. */
export function msSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw.trim())) throw new Error(`${name} must be a whole number of milliseconds (got ${JSON.stringify(raw)})`);
  return Number(raw.trim());
}
