/** Machine and version facts of a run, and how they are printed (no Node-specific imports: unit-testable). */

export interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_gib: number;
  os: string;
  /** 1, 5 and 15 minute load averages when the run started: anything else running skews the figures. */
  loadavg_at_start: number[];
}

export interface GitInfo {
  commit: string | null;
  /** Uncommitted changes to tracked files. */
  dirty: boolean | null;
}

/** `2026-01-31T12-05-09` (local time, file-name safe). */
export function timestamp(date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}-${p(date.getMinutes())}-${p(date.getSeconds())}`;
}

export function formatMachine(m: MachineInfo): string {
  return `${m.cpu_model}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.os}; load average ${m.loadavg_at_start.join(' / ')}`;
}

export function formatVersions(v: Record<string, string>): string {
  return Object.entries(v)
    .map(([k, val]) => `${k} ${val}`)
    .join(', ');
}
