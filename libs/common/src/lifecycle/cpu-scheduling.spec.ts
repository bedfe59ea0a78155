import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SchedPolicy, threadPolicies } from '@app/testkit/sched';
import { applyCpuScheduling, CommandRunner } from './cpu-scheduling';

describe('applyCpuScheduling', () => {
  it('asks chrt for SCHED_BATCH on every thread of the process', async () => {
    const calls: [string, string[]][] = [];
    const run: CommandRunner = async (file, args) => void calls.push([file, args]);
    const outcome = await applyCpuScheduling('batch', 1234, 'linux', run);
    expect(calls).toEqual([['chrt', ['--all-tasks', '--batch', '--pid', '0', '1234']]]);
    expect(outcome).toEqual({ message: expect.stringContaining('SCHED_BATCH'), warn: false });
  });

  it('does nothing with `inherit`, or off Linux', async () => {
    const calls: string[][] = [];
    const run: CommandRunner = async (_file, args) => void calls.push(args);
    expect(await applyCpuScheduling('inherit', 1234, 'linux', run)).toBeUndefined();
    expect(await applyCpuScheduling('batch', 1234, 'darwin', run)).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('turns a failure into a warning that names the setting and the cause, and never throws', async () => {
    const run: CommandRunner = () => Promise.reject(new Error('spawn chrt ENOENT'));
    expect(await applyCpuScheduling('batch', 1234, 'linux', run)).toEqual({
      message: 'CPU_SCHEDULING=batch could not be applied (spawn chrt ENOENT); running under the default policy',
      warn: true,
    });
  });

  // Linux with util-linux's chrt, as on every machine the bazaar is built for.
  it('puts every thread of a real process under SCHED_BATCH', async () => {
    // A node process has several threads of its own from the start (V8's, libuv's).
    const child = spawn(process.execPath, ['-e', "process.stdout.write('up'); setTimeout(() => {}, 60000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      expect(threadPolicies(child.pid!).every((p) => p !== SchedPolicy.batch)).toBe(true);
      expect(await applyCpuScheduling('batch', child.pid!)).toEqual({ message: expect.any(String), warn: false });
      const policies = threadPolicies(child.pid!);
      expect(policies.length).toBeGreaterThan(1);
      expect(policies).toEqual(policies.map(() => SchedPolicy.batch));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports a process that does not exist as a warning', async () => {
    // Process ids are below pid_max, so this one cannot name any process (nor one that reuses an id).
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const outcome = await applyCpuScheduling('batch', pidMax, 'linux');
    expect(outcome).toEqual({ message: expect.stringMatching(/^CPU_SCHEDULING=batch could not be applied \(.+\); running under the default policy$/), warn: true });
  });
});
