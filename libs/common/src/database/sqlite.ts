import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as sqlite3 from 'sqlite3';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { CommonEnv } from '@app/contracts';
import { makeDataDir } from '../fs/data-dir';
import { lockForProcess } from '../fs/process-lock';
import { NestTypeOrmLogger } from './typeorm-logger';

/**
 * The sqlite3 module as TypeORM's driver, minus its long-stack-trace mode. TypeORM calls
 * `sqlite3.verbose()`, which wraps every Database and Statement method so that each call captures
 * a stack trace and `util.inspect`s its arguments: under trade load that was a third of the
 * catalog's CPU. This driver answers `verbose()` with itself; errors keep SQLite's own message.
 */
export const quietSqlite3 = { ...sqlite3, verbose: (): object => quietSqlite3 };

/** A migrated in-memory SQLite database with `entities`, opened with {@link quietSqlite3} (for unit tests). */
export async function openInMemorySqlite(entities: DataSourceOptions['entities'], migrations: DataSourceOptions['migrations']): Promise<DataSource> {
  const db = new DataSource({ type: 'sqlite', driver: quietSqlite3, database: ':memory:', entities, migrations, migrationsRun: true });
  return db.initialize();
}

/**
 * A service's SQLite file cannot be used (corrupt, not a database): a start-up error that the
 * bootstrap prints as one line (`<app>: <message>`) before exiting 1, like a configuration error.
 * Retrying cannot help, so TypeORM's connection retries never see it.
 */
export class DatabaseFileError extends Error {
  override readonly name = 'DatabaseFileError';
}

/**
 * SQLite's codes for a file whose contents are damaged. Any other failure to open and check it (a
 * full disk: `SQLITE_FULL`, `SQLITE_IOERR`; a read-only file or directory: `SQLITE_READONLY`,
 * `SQLITE_CANTOPEN`, `SQLITE_PERM`) says nothing of its contents.
 */
const DAMAGED_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/**
 * Checks an existing SQLite file before TypeORM opens it: the header must be a database's and
 * `PRAGMA quick_check` must answer `ok`. A file that fails gets a {@link DatabaseFileError}
 * naming it, its problem and `remedy` (what the operator does about it: delete or restore it). A
 * file that cannot be opened or checked for another reason (a full disk, a read-only file) gets
 * one too, saying so, and never that remedy: every replica's file may be in that state at once,
 * and deleting them all would lose the orders. A missing or empty file passes: it is created as a
 * new database.
 */
export async function checkSqliteFile(file: string, remedy: string): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return;
  }
  if (size === 0) return;
  const problem = await new Promise<{ text: string; damaged: boolean } | undefined>((done) => {
    const failed = (err: Error) => ({ text: err.message, damaged: DAMAGED_CODES.has((err as NodeJS.ErrnoException).code ?? '') });
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (openErr) => {
      if (openErr) return done(failed(openErr));
      db.all('PRAGMA quick_check', (err, rows: { quick_check: string }[] | undefined) => {
        const bad = (rows ?? []).map((r) => r.quick_check).filter((r) => r !== 'ok');
        db.close(() => done(err ? failed(err) : bad.length ? { text: `quick_check: ${bad.slice(0, 3).join('; ')}`, damaged: true } : undefined));
      });
    });
  });
  if (problem === undefined) return;
  if (problem.damaged) throw new DatabaseFileError(`database file ${file} is unreadable or corrupt (${problem.text}); ${remedy}`);
  throw new DatabaseFileError(
    `database file ${file} cannot be opened and checked (${problem.text}); this says nothing of its contents: ` +
      'free space on its disk or let this user write it and its directory, then start again (do not delete it)',
  );
}

/**
 * TypeORM options for one service's own SQLite file: WAL journal, migrations run at start-up,
 * never `synchronize`, TypeORM's messages in the app's log ({@link NestTypeOrmLogger}).
 * `PRAGMA synchronous` is applied by {@link SqlitePragmas}. The file is locked to this process
 * ({@link lockForProcess}: a file in use by another process fails the start with a
 * `FileInUseError`), then an existing file is checked ({@link checkSqliteFile}): a corrupt one
 * fails the start with a {@link DatabaseFileError} whose message ends with `remedy`.
 */
export async function sqliteOptions(
  dataDir: string,
  fileName: string,
  migrations: TypeOrmModuleOptions['migrations'],
  remedy = `move ${fileName}* out of ${resolve(dataDir)} and restore them from a backup`,
): Promise<TypeOrmModuleOptions> {
  const dir = makeDataDir(dataDir);
  await lockForProcess(join(dir, fileName), 'database file');
  await checkSqliteFile(join(dir, fileName), remedy);
  return {
    type: 'sqlite',
    driver: quietSqlite3,
    database: join(dir, fileName),
    enableWAL: true,
    busyTimeout: 5000,
    autoLoadEntities: true,
    synchronize: false,
    migrationsRun: true,
    migrations,
    logger: new NestTypeOrmLogger(),
  };
}

/** Sets `PRAGMA synchronous` explicitly on the (single) SQLite connection at start-up. */
@Injectable()
export class SqlitePragmas implements OnModuleInit {
  private readonly logger = new Logger(SqlitePragmas.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: ConfigService<CommonEnv, true>,
  ) {}

  async onModuleInit(): Promise<void> {
    const mode = this.config.get('SQLITE_SYNCHRONOUS', { infer: true });
    await this.dataSource.query(`PRAGMA synchronous = ${mode}`);
    const [journal] = (await this.dataSource.query('PRAGMA journal_mode')) as { journal_mode: string }[];
    this.logger.log(`SQLite ${this.dataSource.options.database}: journal_mode=${journal.journal_mode}, synchronous=${mode}`);
  }
}
