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

/** CPU used so far by each named process, in ms; null when any of them is gone or unreadable. */
export function cpuMsByProcess(processes: Readonly<Record<string, number>>): Record<string, number> | null {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(processes)) {
    const ms = cpuMsOf([pid]);
    if (ms === null) return null;
    out[name] = ms;
  }
  return out;
}

/**
 * Per process, the CPU it used between two readings of {@link cpuMsByProcess}, divided by `per`
 * (responses, or seconds) and rounded to µs; null when either reading is, or `per` is not positive.
 */
export function cpuDelta(
  before: Readonly<Record<string, number>> | null,
  after: Readonly<Record<string, number>> | null,
  per: number,
): Record<string, number> | null {
  if (before === null || after === null || !(per > 0)) return null;
  const out: Record<string, number> = {};
  for (const name of Object.keys(after)) {
    if (before[name] === undefined) return null;
    out[name] = Math.round(((after[name] - before[name]) / per) * 1000) / 1000;
  }
  return out;
}

/** `frontend 0.640 · catalog 0.511 · …`, in the order given. */
export function formatByProcess(byProcess: Readonly<Record<string, number>>, digits = 3): string {
  return Object.entries(byProcess)
    .map(([name, v]) => `${name} ${v.toFixed(digits)}`)
    .join(' · ');
}
