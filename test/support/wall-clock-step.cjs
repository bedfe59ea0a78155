'use strict';
/**
 * Test-only preload (`node --require`): each SIGUSR2 steps this process's wall clock by
 * WALL_CLOCK_STEP_MS (say -60000), as an NTP step, `date -s` or a VM's corrected clock would.
 * `Date.now()` and `new Date()` move; the monotonic clock (`performance.now()`) does not, as on a
 * real host. Loaded into the bazaar's processes by the e2e test of a clock step, never by the apps.
 */
const step = Number(process.env.WALL_CLOCK_STEP_MS);
if (!Number.isFinite(step) || step === 0) throw new Error('wall-clock-step.cjs needs WALL_CLOCK_STEP_MS, a non-zero number of ms');
const RealDate = Date;
let offset = 0;
class SteppedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = SteppedDate;
process.on('SIGUSR2', () => {
  offset += step;
});
