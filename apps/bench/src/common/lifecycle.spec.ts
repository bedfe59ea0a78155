import { spawn } from 'node:child_process';
import { ChildRegistry, Interrupted, checkpoint, sleepUnlessAborted } from './lifecycle';

describe('lifecycle', () => {
  it('stops a sleep at once when aborted, with Interrupted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = sleepUnlessAborted(10_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(sleeping).rejects.toBeInstanceOf(Interrupted);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(() => checkpoint(controller.signal)).toThrow(Interrupted);
    await expect(sleepUnlessAborted(1, controller.signal)).rejects.toBeInstanceOf(Interrupted);
  });

  it('sleeps the time asked when not aborted', async () => {
    await expect(sleepUnlessAborted(5, new AbortController().signal)).resolves.toBeUndefined();
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
