import { leaseClock, leaseClockMs } from './lease-clock';

/** A lease clock over two clocks the test sets: `mono` (fractional ms) and `wall` (whole ms, as Date.now()). */
function clocks(mono = 1000.25, wall = 1_700_000_000_000) {
  const t = { mono, wall };
  const clock = leaseClock(
    () => t.mono,
    () => Math.floor(t.wall),
  );
  /** Both clocks advance by `ms`, as they do while the host runs. */
  const run = (ms: number) => {
    t.mono += ms;
    t.wall += ms;
  };
  return { t, clock, run };
}

describe('leaseClock (monotonic, and moved forward past a suspend)', () => {
  it('follows the monotonic clock while the host runs', () => {
    const { clock, run } = clocks();
    const start = clock();
    expect(start).toBe(1000.25);
    run(250.5);
    expect(clock()).toBeCloseTo(start + 250.5, 6);
  });

  it("never adds up the wall clock's millisecond steps", () => {
    const { clock, run } = clocks();
    const start = clock();
    for (let i = 0; i < 100_000; i++) {
      run(0.375);
      clock();
    }
    expect(clock() - start).toBeCloseTo(37_500, 3);
  });

  it('moves forward by a suspend: the time the wall clock saw and the monotonic one did not', () => {
    const { t, clock, run } = clocks();
    const start = clock();
    run(100);
    t.wall += 30_000; // suspended for 30 s: CLOCK_MONOTONIC stood still
    expect(clock()).toBeCloseTo(start + 30_100, 6);
    run(50);
    expect(clock()).toBeCloseTo(start + 30_150, 6);
  });

  it('never goes back, nor slower than the monotonic clock, when the wall clock is set back', () => {
    const { t, clock, run } = clocks();
    const start = clock();
    t.wall -= 60_000;
    run(10);
    expect(clock()).toBeCloseTo(start + 10, 6);
    // Set back, then forward again by as much: counted as a jump (leases end sooner, never later).
    t.wall += 60_000;
    expect(clock()).toBeCloseTo(start + 60_010, 6);
    let last = clock();
    for (const step of [5, -30_000, 1, 2_000, -1]) {
      t.wall += step;
      run(1);
      const now = clock();
      expect(now).toBeGreaterThanOrEqual(last + 1 - 1e-9);
      last = now;
    }
  });

  it('ignores a wall clock step within its tolerance', () => {
    const { t, clock } = clocks();
    const start = clock();
    t.wall += 4;
    expect(clock()).toBe(start);
  });

  it("is one clock for the process, in the monotonic clock's units", () => {
    const a = leaseClockMs();
    const b = performance.now();
    expect(Math.abs(b - a)).toBeLessThan(60_000);
    expect(leaseClockMs()).toBeGreaterThanOrEqual(a);
  });
});
