import { Backoff, CONNECTION_BACKOFF, pause } from './backoff';

describe('Backoff', () => {
  it('waits 50 ms after a failure, doubling to at most 1 s', () => {
    const backoff = new Backoff();
    expect(Array.from({ length: 8 }, () => backoff.fail())).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoff.consecutiveFailures).toBe(8);
    expect(CONNECTION_BACKOFF).toEqual({ initialMs: 50, maxMs: 1000, factor: 2 });
  });

  it('starts again from the first delay after a success', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 100, factor: 3 });
    expect([backoff.fail(), backoff.fail(), backoff.fail(), backoff.fail()]).toEqual([10, 30, 90, 100]);
    backoff.succeed();
    expect(backoff.consecutiveFailures).toBe(0);
    expect(backoff.fail()).toBe(10);
  });

  it('refuses a policy that would not wait or would shrink', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10, factor: 2 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 20, maxMs: 10, factor: 2 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 20, factor: 0.5 })).toThrow(RangeError);
  });
});

describe('pause', () => {
  it('waits, and returns at once when aborted', async () => {
    const t0 = Date.now();
    await pause(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);

    const controller = new AbortController();
    const t1 = Date.now();
    const waiting = pause(10_000, controller.signal);
    controller.abort();
    await waiting;
    expect(Date.now() - t1).toBeLessThan(1000);
  });
});
