import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { ChildRegistry, Interrupted, checkpoint, sleepUnlessAborted } from './lifecycle';

describe('lifecycle', () => {
  afterEach(() => jest.useRealTimers());

  it('stops a sleep at once when aborted, with Interrupted', async () => {
    jest.useFakeTimers();
    const controller = new AbortController();
    const sleeping = sleepUnlessAborted(10_000, controller.signal);
    await jest.advanceTimersByTimeAsync(20);
    controller.abort();
    await expect(sleeping).rejects.toBeInstanceOf(Interrupted);
    expect(jest.getTimerCount()).toBe(0);
    expect(() => checkpoint(controller.signal)).toThrow(Interrupted);
    await expect(sleepUnlessAborted(1, controller.signal)).rejects.toBeInstanceOf(Interrupted);
  });

  it('sleeps the time asked when not aborted', async () => {
    jest.useFakeTimers();
    let woke = false;
    const sleeping = sleepUnlessAborted(5000, new AbortController().signal).then(() => (woke = true));
    await jest.advanceTimersByTimeAsync(4999);
    expect(woke).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(woke).toBe(true);
    await expect(sleeping).resolves.toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('kills every tracked child synchronously, and forgets untracked ones', async () => {
    const child = spawn('sleep', ['30']);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    const registry = new ChildRegistry();
    const untrackOther = registry.track(() => [999_999_999]);
    untrackOther();
    registry.track(() => [child.pid!]);
    expect(registry.killAllSync()).toBe(1);
    await expect(exited).resolves.toBe('SIGKILL');
  });
});
