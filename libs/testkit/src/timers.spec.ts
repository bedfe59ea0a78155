import { jest } from '@jest/globals';
import { settlesWithin } from './timers';

describe('settlesWithin', () => {
  afterEach(() => jest.useRealTimers());

  it('is true for a promise that resolves in time, and leaves no timer behind', async () => {
    jest.useFakeTimers();
    await expect(settlesWithin(Promise.resolve('done'), 60_000)).resolves.toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('is false when the time runs out first', async () => {
    jest.useFakeTimers();
    const outcome = settlesWithin(new Promise(() => undefined), 5000);
    await jest.advanceTimersByTimeAsync(5000);
    await expect(outcome).resolves.toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('passes on a rejection that comes in time, and clears the timer', async () => {
    jest.useFakeTimers();
    await expect(settlesWithin(Promise.reject(new Error('boom')), 60_000)).rejects.toThrow('boom');
    expect(jest.getTimerCount()).toBe(0);
  });
});
