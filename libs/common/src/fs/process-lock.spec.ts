import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileInUseError, lockForProcess } from './process-lock';

/** Another process taking `file`'s lock as {@link lockForProcess} does; resolves once it holds it. */
function holderProcess(file: string): Promise<{ kill: () => Promise<void> }> {
  const script = `
    const sqlite3 = require('sqlite3');
    const db = new sqlite3.Database(${JSON.stringify(`${file}.lock`)}, () =>
      db.exec('PRAGMA journal_mode = OFF; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;', (err) => {
        process.stdout.write(err ? 'failed' : 'held');
        if (err) process.exit(1);
        setInterval(() => {}, 1000);
      }));`;
  // \`node -e\` resolves modules from its working directory: the repository's root, as jest's.
  const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) =>
      String(d) === 'held'
        ? resolve({ kill: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGKILL'))) })
        : reject(new Error(String(d))),
    );
  });
}

describe('lockForProcess', () => {
  it('refuses a file another process holds, naming it; once that process is SIGKILLed, takes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bazaar-lock-'));
    try {
      const file = join(dir, 'order-2.sqlite');
      const other = await holderProcess(file);
      const refused = await lockForProcess(file, 'database file').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(FileInUseError);
      expect((refused as Error).message).toBe(
        `database file ${file} is in use by another process: is this service already running on this data directory? ` +
          'Stop it first, or give this one a DATA_DIR of its own',
      );
      await other.kill();
      await expect(lockForProcess(file, 'database file')).resolves.toBeUndefined();
      // This process's own: taken again (a data source reopened), and refused to another.
      await expect(lockForProcess(file, 'database file')).resolves.toBeUndefined();
      await expect(holderProcess(file)).rejects.toThrow('failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so when the lock file cannot be made', async () => {
    const file = join(tmpdir(), 'bazaar-no-such-dir', 'x', 'catalog.sqlite');
    await expect(lockForProcess(file, 'database file')).rejects.toThrow(
      new FileInUseError(`database file ${file} cannot be locked (${file}.lock: SQLITE_CANTOPEN: unable to open database file)`),
    );
  });
});
