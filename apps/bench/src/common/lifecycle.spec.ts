import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { ChildRegistry, Interrupted, checkpoint, recordRunFailure, sleepUnlessAborted } from './lifecycle';

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

describe('recordRunFailure', () => {
  const fresh = () => ({ interrupted: false, error: null as string | null });

  it('marks a run stopped by Ctrl-C as interrupted, with no error', () => {
    const record = fresh();
    const lines: string[] = [];
    recordRunFailure(new Interrupted(), new AbortController().signal, record, (t) => lines.push(t));
    expect(record).toEqual({ interrupted: true, error: null });
    expect(lines.join('')).toBe('\ninterrupted\n');
  });

  it('counts any error once the signal has fired as an interruption (a request cut short by it)', () => {
    const record = fresh();
    const ac = new AbortController();
    ac.abort();
    recordRunFailure(new Error('socket hang up'), ac.signal, record, () => undefined);
    expect(record.interrupted).toBe(true);
  });

  it('records any other error with its message, and logs its stack', () => {
    const record = fresh();
    const lines: string[] = [];
    recordRunFailure(new Error('the catalog did not start'), new AbortController().signal, record, (t) => lines.push(t));
    expect(record).toEqual({ interrupted: false, error: 'the catalog did not start' });
    expect(lines.join('')).toMatch(/^\nerror: Error: the catalog did not start\n {4}at /);
  });
});
