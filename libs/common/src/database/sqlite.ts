import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import type { CommonEnv } from '@app/contracts';

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
