import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * TypeORM's own messages through Nest's logger, so into the app's structured (JSON) log, instead
 * of TypeORM's console logger, which printed a failed query as two plain-text lines among the
 * JSON ones. A failed query is logged at `error`, as before; TypeORM's warnings at `warn`; its
 * other messages, migrations included, at `debug`. Queries themselves are never logged (TypeORM
 * calls {@link logQuery} for each one: it does nothing).
 */
export class NestTypeOrmLogger implements TypeOrmLogger {
  private readonly logger = new Logger('TypeORM');

  logQuery(): void {
    /* every query: not logged */
  }

  logQueryError(error: string | Error, query: string, parameters?: unknown[]): void {
    const params = parameters?.length ? ` -- parameters: ${printable(parameters)}` : '';
    this.logger.error(`query failed: ${typeof error === 'string' ? error : error.message} -- ${query}${params}`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`query took ${time} ms: ${query}`);
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.debug(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
    else this.logger.debug(String(message));
  }
}

/** `parameters` as JSON, or as a string when JSON cannot hold them (a BigInt, a cycle): logging never throws inside a query's callback. */
function printable(parameters: unknown[]): string {
  try {
    return JSON.stringify(parameters);
  } catch {
    return String(parameters);
  }
}
