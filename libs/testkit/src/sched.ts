import { readdirSync, readFileSync } from 'node:fs';

/** Linux's scheduling policies as /proc/<pid>/stat numbers them (field 41, `policy`). */
export const SchedPolicy = { other: 0, batch: 3 } as const;

/** The scheduling policy of every thread of process `pid`, read from /proc (Linux). */
export function threadPolicies(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The fields after the command name (in parentheses, which may hold spaces) start at field 3.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
  });
}
