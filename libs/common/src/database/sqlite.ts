import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import type { CommonEnv } from '@app/contracts';

/**
 * The sqlite3 module as TypeORM's driver, minus its long-stack-trace mode. TypeORM calls
 * `sqlite3.verbose()`, which wraps every Database and Statement method so that each call captures
 * a stack trace and `util.inspect`s its arguments: under trade load that was a third of the
 * catalog's CPU. This driver answers `verbose()` with itself; errors keep SQLite's own message.
 */
export const quietSqlite3 = { ...sqlite3, verbose: (): object => quietSqlite3 };

/**
 * TypeORM options for one service's own SQLite file: WAL journal, migrations run at start-up,
 * never `synchronize`. `PRAGMA synchronous` is applied by {@link SqlitePragmas}.
 */
export function sqliteOptions(
  dataDir: string,
  fileName: string,
  migrations: TypeOrmModuleOptions['migrations'],
): TypeOrmModuleOptions {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
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
    logging: ['error'],
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
