import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The data directory (`DATA_DIR`) cannot be made or used. A server's start prints it as one line
 * (`<app>: DATA_DIR …`) and exits 1, like a configuration error; so does `npm start`.
 */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

/**
 * Makes the data directory `dir` (mode 0700: its files are the owner's) and its missing parents, one level at a time, and returns it,
 * absolute; or throws a {@link DataDirError} naming DATA_DIR and why. One level at a time because
 * Node's `mkdirSync(dir, { recursive: true })` never returns for a path under /proc.
 */
export function makeDataDir(dir: string): string {
  const absolute = resolve(dir);
  const missing: string[] = [];
  try {
    for (let current = absolute; ; current = dirname(current)) {
      try {
        if (!statSync(current).isDirectory()) throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw err;
        missing.unshift(current);
      }
    }
    // The directory itself for its owner alone (the SQLite files hold every idempotency key); its parents as usual.
    for (const d of missing) mkdirSync(d, d === absolute ? { mode: 0o700 } : undefined);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOTDIR' && e.message.endsWith('is not a directory') ? e.message : (e.code ?? e.message);
    throw new DataDirError(`DATA_DIR ${absolute}: cannot make or use this directory (${why})`);
  }
  return absolute;
}
