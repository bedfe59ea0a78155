'use strict';
/**
 * Test-only preload (`node --require`): each SIGUSR2 steps this process's wall clock by
 * WALL_CLOCK_STEP_MS (say -60000), as an NTP step, `date -s` or a VM's corrected clock would.
 * `Date.now()`, `new Date()` and `Date()` move; the monotonic clock (`performance.now()`) does not,
 * as on a real host. Every date is still a real Date (the prototype is the same, so `instanceof
 * Date` holds for dates Node makes itself). Loaded into the bazaar's processes by the e2e test of a
 * clock step, never by the apps.
 */
const step = Number(process.env.WALL_CLOCK_STEP_MS);
if (!Number.isFinite(step) || step === 0) throw new Error('wall-clock-step.cjs needs WALL_CLOCK_STEP_MS, a non-zero number of ms');
const RealDate = Date;
let offset = 0;
const now = () => RealDate.now() + offset;
function SteppedDate(...args) {
  if (!new.target) return new RealDate(now()).toString();
  return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
}
SteppedDate.prototype = RealDate.prototype;
SteppedDate.now = now;
SteppedDate.parse = RealDate.parse;
SteppedDate.UTC = RealDate.UTC;
globalThis.Date = SteppedDate;
process.on('SIGUSR2', () => {
  offset += step;
});
