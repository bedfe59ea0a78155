/**
 * The clock a front end measures its cache lease on: monotonic milliseconds that also count the
 * time a suspended host did not.
 *
 * Linux's monotonic clock (`performance.now()`, CLOCK_MONOTONIC) stops while the host is
 * suspended, and Node.js has no CLOCK_BOOTTIME. A front end whose host slept through the end of
 * its lease would wake up still holding it by that clock, while the catalog, on another host, had
 * long since counted it over and acknowledged trades whose pushes the front end never got: it
 * would serve stocks from before them until the lease ran out on its own clock. The wall clock is
 * set forward on resume, so this clock follows it: whenever the wall clock has gained more than
 * `toleranceMs` on the monotonic one since it last looked, it moves forward by the difference.
 * It never goes back, and never runs slower than the monotonic clock: a lease measured on it ends
 * no later than one measured on the monotonic clock, only sooner, after a suspend (or a wall
 * clock set forward). A wall clock set back changes nothing. The tolerance absorbs the wall
 * clock's millisecond steps, so that they never add up.
 */
export function leaseClock(mono: () => number = () => performance.now(), wall: () => number = () => Date.now(), toleranceMs = 5): () => number {
  /** The wall clock's lead over the monotonic one, as last accounted for. */
  let lead = wall() - mono();
  /** Time the monotonic clock missed, added to it. */
  let missed = 0;
  return () => {
    const now = mono();
    const current = wall() - now;
    if (current > lead + toleranceMs) {
      missed += current - lead;
      lead = current;
    } else if (current < lead) {
      lead = current;
    }
    return now + missed;
  };
}

/** This process's lease clock (see {@link leaseClock}): one for the whole process, so that all its readings compare. */
export const leaseClockMs: () => number = leaseClock();
