import { cpuMsOf, cpuMsOfStat } from './process-cpu';

describe('process CPU from /proc', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const stat = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 37 0 0 20 0 11 0 123 456 789';
    expect(cpuMsOfStat(stat)).toBe(2870);
  });

  it('refuses a line that is not a stat line', () => {
    expect(() => cpuMsOfStat('nonsense')).toThrow(/not a \/proc/);
  });

  it('sums live processes, and is null when one is gone', () => {
    const own = cpuMsOf([process.pid]);
    if (own === null) return; // not Linux: nothing to read
    expect(own).toBeGreaterThanOrEqual(0);
    expect(cpuMsOf([process.pid, 2 ** 22 + 1])).toBeNull();
  });
});
