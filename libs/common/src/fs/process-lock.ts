import { resolve } from 'node:path';
import * as sqlite3 from 'sqlite3';

/**
 * A data file is another process's (or cannot be locked): a start-up error that the bootstrap
 * prints as one line (`<app>: <message>`) before exiting 1, like a configuration error.
 */
export class FileInUseError extends Error {
  override readonly name = 'FileInUseError';
}

/** The lock files' connections, by data file, kept for the life of the process (closing one would free its lock). */
const held = new Map<string, sqlite3.Database>();

/**
 * Makes `file` this process's own while it lives: `<file>.lock`, a SQLite database of its own, is
 * opened in exclusive locking mode and written once, so this process holds an exclusive OS lock
 * on it until it exits (the kernel frees it however the process ends, `SIGKILL` included: no
 * stale lock to clean up, and no pid to mistake for another process's after a reboot). A second
 * process, such as a second bazaar on the same data directory with other ports, gets a
 * {@link FileInUseError} naming `file` (`what` says what it is) instead of writing it as if it
 * were alone. Readers of `file` itself (the `sqlite3` shell, the tests) are not hindered.
 *
 * The lock is the process's, not a connection's: the same process may take it again (a data
 * source closed and opened anew, as the unit specs' restarts do).
 */
export async function lockForProcess(file: string, what: string): Promise<void> {
  const key = resolve(file);
  if (held.has(key)) return;
  const lockFile = `${key}.lock`;
  const problem = await new Promise<string | undefined>((done) => {
    const db = new sqlite3.Database(lockFile, (openErr) => {
      if (openErr) return done(`cannot be locked (${lockFile}: ${openErr.message})`);
      db.exec('PRAGMA journal_mode = OFF; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;', (err) => {
        if (!err) {
          held.set(key, db);
          return done(undefined);
        }
        const busy = (err as NodeJS.ErrnoException).code === 'SQLITE_BUSY';
        db.close(() =>
          done(
            busy
              ? 'is in use by another process: is this service already running on this data directory? Stop it first, or give this one a DATA_DIR of its own'
              : `cannot be locked (${lockFile}: ${err.message})`,
          ),
        );
      });
    });
  });
  if (problem !== undefined) throw new FileInUseError(`${what} ${file} ${problem}`);
}
