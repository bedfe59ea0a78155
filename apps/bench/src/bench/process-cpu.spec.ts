import { cpuDelta, cpuMsByProcess, cpuMsOf, cpuMsOfStat, formatByProcess } from './process-cpu';

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

  it('reads each named process, and is null when one is gone', () => {
    const own = cpuMsByProcess({ bench: process.pid });
    if (own === null) return; // not Linux
    expect(Object.keys(own)).toEqual(['bench']);
    expect(cpuMsByProcess({ bench: process.pid, gone: 2 ** 22 + 1 })).toBeNull();
  });

  it('divides each process\'s CPU between two readings by the responses (or seconds)', () => {
    const before = { frontend: 1000, catalog: 500 };
    const after = { frontend: 1640, catalog: 1011 };
    expect(cpuDelta(before, after, 1000)).toEqual({ frontend: 0.64, catalog: 0.511 });
    expect(cpuDelta(null, after, 1000)).toBeNull();
    expect(cpuDelta(before, after, 0)).toBeNull();
    expect(cpuDelta({ frontend: 1000 }, after, 10)).toBeNull();
  });

  it('formats a breakdown in the order given', () => {
    expect(formatByProcess({ frontend: 0.64, catalog: 0.5111 })).toBe('frontend 0.640 · catalog 0.511');
    expect(formatByProcess({ frontend: 20.04 }, 1)).toBe('frontend 20.0');
  });
});
