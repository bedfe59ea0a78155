import { constants } from 'node:fs';
import { access, mkdir, open, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '@app/loadgen';

/**
 * Creates `dir` and its missing parents one level at a time. (`mkdir({ recursive: true })`
 * can spin forever under pseudo file systems such as /proc; this fails at once instead.)
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      if (!(await stat(current)).isDirectory()) throw new Error(`${current} is not a directory`);
      break;
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.unshift(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const d of missing) await mkdir(d);
}

/**
 * Makes sure a JSON report can be written at `path` (creating its directory) before a long run
 * starts, so that a typo fails at once rather than after the run. Returns the absolute path.
 */
export async function prepareJsonPath(path: string): Promise<string> {
  const absolute = resolve(path);
  const dir = dirname(absolute);
  await makeDirectories(dir);
  await access(dir, constants.W_OK);
  // `--json results/` naming a directory would otherwise fail only once the run is over (EISDIR).
  const existing = await stat(absolute).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing?.isDirectory()) throw new Error(`${absolute} is a directory; give a file name, such as ${join(absolute, 'results.json')}`);
  // The file itself, opened for writing: root passes every access() check, and some file systems
  // (/proc, a read-only mount) refuse only the file. A file made for the test is removed again.
  const handle = await open(absolute, existing ? 'r+' : 'wx');
  await handle.close();
  if (!existing) await unlink(absolute);
  return absolute;
}

/** {@link prepareJsonPath} for a `--json <path>` option when given: a path that cannot be written is a usage error. */
export async function prepareJsonOption(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  await prepareJsonPath(path).catch((err: unknown) => {
    throw new UsageError(`--json: cannot write to ${path}: ${err instanceof Error ? err.message : String(err)}`);
  });
}

/** Pretty JSON, ending with a newline. */
export function toJson(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** Writes `data` as pretty JSON, creating the directory when needed. */
export async function writeJsonReport(path: string, data: unknown): Promise<string> {
  const absolute = await prepareJsonPath(path);
  await writeFile(absolute, toJson(data), 'utf8');
  return absolute;
}

/**
 * Writes `data` to `path` when one was asked for, telling the user where it went. Returns false
 * (after saying why on `stderr`) when it could not be written.
 */
export async function writeRequestedJson(path: string | undefined, data: unknown, stderr: (text: string) => void): Promise<boolean> {
  if (path === undefined) return true;
  try {
    stderr(`results written to ${await writeJsonReport(path, data)}\n`);
    return true;
  } catch (err: unknown) {
    stderr(`error: could not write ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
    return false;
  }
}
