import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_S = 100;

/**
 * User + system CPU a process has used, in ms, from a `/proc/<pid>/stat` line: fields 14 and 15
 * (utime, stime), counted after the command name, which is in parentheses and may hold spaces.
 */
export function cpuMsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_S;
}

/**
 * CPU used so far by each process, in ms (10 ms resolution), summed; a process that is gone or
 * unreadable (not Linux) makes it null.
 */
export function cpuMsOf(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return null;
    }
  }
  return total;
}
