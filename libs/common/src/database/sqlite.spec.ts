import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqlite3 from 'sqlite3';
import { checkSqliteFile, DatabaseFileError, sqliteOptions } from './sqlite';

function exec(file: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.exec(sql, (e) => db.close(() => (e ? reject(e) : resolve())));
    });
  });
}

describe('checkSqliteFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sqlite-check-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a missing, an empty and a healthy file', async () => {
    await expect(checkSqliteFile(join(dir, 'missing.sqlite'), 'fix it')).resolves.toBeUndefined();
    writeFileSync(join(dir, 'empty.sqlite'), '');
    await expect(checkSqliteFile(join(dir, 'empty.sqlite'), 'fix it')).resolves.toBeUndefined();
    const good = join(dir, 'good.sqlite');
    await exec(good, "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    await expect(checkSqliteFile(good, 'fix it')).resolves.toBeUndefined();
  });

  it('rejects a file of garbage with one message naming the file, the problem and the remedy', async () => {
    const bad = join(dir, 'order-2.sqlite');
    writeFileSync(bad, Buffer.alloc(8192, 0x5a));
    const err = await checkSqliteFile(bad, 'delete it and start again').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseFileError);
    expect((err as Error).message).toBe(`database file ${bad} is unreadable or corrupt (SQLITE_NOTADB: file is not a database); delete it and start again`);
    expect((err as Error).message).not.toContain('\n');
  });

  // A full disk or a read-only file is not damage: every replica's file may be in that state at
  // once, and the delete-or-restore remedy would lose the orders if followed on each.
  it('says of a file it cannot open for another reason than damage that it cannot be checked, without the remedy', async () => {
    const notAFile = join(dir, 'order-2.sqlite');
    mkdirSync(notAFile);
    const err = await checkSqliteFile(notAFile, 'delete it and start again').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseFileError);
    expect((err as Error).message).toBe(
      `database file ${notAFile} cannot be opened and checked (SQLITE_CANTOPEN: unable to open database file); this says nothing of its contents: ` +
        'free space on its disk or let this user write it and its directory, then start again (do not delete it)',
    );
  });

  it('rejects a database whose pages are damaged behind an intact header', async () => {
    const bad = join(dir, 'catalog.sqlite');
    await exec(bad, `BEGIN; CREATE TABLE t (x TEXT); CREATE INDEX tx ON t (x); ${Array.from({ length: 400 }, (_, i) => `INSERT INTO t VALUES ('row ${i} ${'y'.repeat(50)}');`).join(' ')} COMMIT;`);
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0xa5), 0, 4096 * 3, 4096); // pages 2–4: garbage
    closeSync(fd);
    await expect(checkSqliteFile(bad, 'restore it')).rejects.toBeInstanceOf(DatabaseFileError);
  });

  it('is run by sqliteOptions, with a default remedy', async () => {
    writeFileSync(join(dir, 'catalog.sqlite'), 'not a database at all, just text that is long enough'.repeat(100));
    await expect(sqliteOptions(dir, 'catalog.sqlite', [])).rejects.toThrow(/catalog\.sqlite is unreadable or corrupt .*restore them from a backup/);
    await expect(sqliteOptions(dir, 'other.sqlite', [])).resolves.toMatchObject({ database: join(dir, 'other.sqlite') });
  });
});
