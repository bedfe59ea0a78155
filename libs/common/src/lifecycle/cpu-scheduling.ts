import { execFile } from 'node:child_process';
import { CommonEnv } from '@app/contracts';

export type CpuSchedulingPolicy = CommonEnv['CPU_SCHEDULING'];

/** Runs a command; rejects when it cannot be run or exits non-zero. */
export type CommandRunner = (file: string, args: string[]) => Promise<void>;

const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) =>
    execFile(file, args, { timeout: 5000, windowsHide: true }, (err, _stdout, stderr) => {
      if (err) reject(new Error(String(stderr).trim() || err.message));
      else resolve();
    }),
  );

/** What {@link applyCpuScheduling} did: a line for the log, and whether it is a warning. */
export interface SchedulingOutcome {
  message: string;
  warn: boolean;
}

/**
 * Puts every thread of process `pid` under `policy` (`CPU_SCHEDULING`) with util-linux's `chrt`.
 *
 * `batch` is Linux's SCHED_BATCH at the same nice level. The bazaar's processes mostly send each
 * other small messages. Under the default policy the receiver of each one preempts its sender at
 * once on a busy machine. That costs two task switches per message, and the sender is often
 * switched out in the middle of its `writev`. With SCHED_BATCH a woken process waits for the
 * running one's slice or its next block, which is soon for an event loop. The policy affects only
 * who runs first among runnable processes: no thread gets less CPU, and no timer fires later
 * than its process can run. Threads created later (libuv's pool, where sqlite3 runs) inherit it.
 *
 * Returns undefined when there is nothing to say (`inherit`, or not Linux). A failure (no `chrt`,
 * a seccomp profile that refuses it) leaves the process as it was and is returned as a warning:
 * the policy is a matter of speed, never of correctness.
 */
export async function applyCpuScheduling(
  policy: CpuSchedulingPolicy,
  pid = process.pid,
  platform: NodeJS.Platform = process.platform,
  run: CommandRunner = runCommand,
): Promise<SchedulingOutcome | undefined> {
  if (policy === 'inherit' || platform !== 'linux') return undefined;
  try {
    await run('chrt', ['--all-tasks', '--batch', '--pid', '0', String(pid)]);
    return { message: 'CPU scheduling: SCHED_BATCH for every thread (CPU_SCHEDULING=batch)', warn: false };
  } catch (err) {
    return {
      message: `CPU_SCHEDULING=batch could not be applied (${(err as Error).message}); running under the default policy`,
      warn: true,
    };
  }
}
