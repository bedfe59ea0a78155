import { jest } from '@jest/globals';
import { monotonicNow } from './clock';

describe('monotonicNow', () => {
  it('gives whole milliseconds near the wall clock, and does not follow a step of the wall clock', () => {
    const now = monotonicNow();
    expect(Number.isInteger(now)).toBe(true);
    expect(Math.abs(now - Date.now())).toBeLessThan(60_000);
    const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() - 3_600_000);
    try {
      expect(monotonicNow()).toBeGreaterThanOrEqual(now);
    } finally {
      wall.mockRestore();
    }
  });

  it('moves with the monotonic clock (performance.now)', () => {
    const at = performance.now();
    const mono = jest.spyOn(performance, 'now').mockReturnValue(at + 1500);
    try {
      expect(monotonicNow() - Math.floor(performance.timeOrigin + at)).toBeGreaterThanOrEqual(1500);
    } finally {
      mono.mockRestore();
    }
  });
});
