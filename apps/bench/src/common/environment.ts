import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { cpus, loadavg, totalmem, release, platform, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GitInfo, MachineInfo } from './format';

/** The repository root (found from here both in apps/ and in dist/apps/). */
export function findRoot(from: string = __dirname): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nest-cli.json'))) return dir;
  }
  throw new Error(`no nest-cli.json above ${from}`);
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu_model: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    loadavg_at_start: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** Packages whose version matters to the figures. */
const PACKAGES = [
  '@nestjs/core',
  '@nestjs/platform-express',
  'express',
  'typeorm',
  'sqlite3',
  'lru-cache',
  'autocannon',
  'hdr-histogram-js',
  'vega',
  'vega-lite',
];

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** The SQLite library the `sqlite3` module was built with. */
function sqliteLibraryVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- read one constant, lazily
    return (require('sqlite3') as { VERSION?: string }).VERSION ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function versions(root: string): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node, v8: process.versions.v8 };
  for (const name of PACKAGES) out[name] = packageVersion(root, name);
  out['SQLite library'] = sqliteLibraryVersion();
  return out;
}

/** The commit measured (and whether the tree had changes): figures are only comparable with it. */
export function gitInfo(root: string): GitInfo {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    } catch {
      return null;
    }
  };
  const commit = git('rev-parse', 'HEAD');
  const status = commit === null ? null : git('status', '--porcelain', '--untracked-files=no');
  return { commit, dirty: status === null ? null : status.length > 0 };
}


function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

/**
 * Checks that each app is built and that its build is newer than its sources and the libraries':
 * measuring a stale `dist/` would measure other code than the tree's. Returns problems, one line each.
 */
export function buildProblems(root: string, apps: readonly string[]): string[] {
  const problems: string[] = [];
  const libs = newestMtime(join(root, 'libs'));
  for (const app of apps) {
    const main = join(root, 'dist', 'apps', app, 'src', 'main.js');
    if (!existsSync(main)) {
      problems.push(`${app} is not built (no ${relativeTo(root, main)}): run npm run build`);
      continue;
    }
    const built = statSync(main).mtimeMs;
    if (Math.max(libs, newestMtime(join(root, 'apps', app, 'src'))) > built) {
      problems.push(`${app}'s build is older than its sources (or libs/): run npx nest build ${app}`);
    }
  }
  return problems;
}

function relativeTo(root: string, path: string): string {
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

/**
 * Share of the machine's CPU time (0–1) spent busy over `ms`, measured before anything is
 * started: what other processes (another cluster, a test run) take away from the benchmark.
 */
export async function backgroundCpu(ms = 2000): Promise<number> {
  const sample = (): { busy: number; total: number } => {
    let busy = 0;
    let total = 0;
    for (const c of cpus()) {
      const t = c.times;
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    return { busy, total };
  };
  const a = sample();
  await sleep(ms);
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? Math.round(((b.busy - a.busy) / total) * 1000) / 1000 : 0;
}
