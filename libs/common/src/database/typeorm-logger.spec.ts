import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { quietSqlite3 } from './sqlite';
import { NestTypeOrmLogger } from './typeorm-logger';

describe('NestTypeOrmLogger (TypeORM through Nest\'s logger)', () => {
  let db: DataSource;
  const spies = () => ({
    error: jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined),
    warn: jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined),
    debug: jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined),
  });

  beforeEach(async () => {
    db = await new DataSource({ type: 'sqlite', driver: quietSqlite3, database: ':memory:', logger: new NestTypeOrmLogger() }).initialize();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await db.destroy();
  });

  it('logs a failed query once, at error, with SQLite\'s reason, the query and its parameters, in one message', async () => {
    const { error, warn, debug } = spies();
    await expect(db.query('SELECT * FROM missing WHERE id = ?', [7])).rejects.toThrow(/no such table: missing/);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0][0]).toBe('query failed: SQLITE_ERROR: no such table: missing -- SELECT * FROM missing WHERE id = ? -- parameters: [7]');
    expect(warn).not.toHaveBeenCalled();
    expect(debug).not.toHaveBeenCalled();
  });

  it('logs parameters JSON cannot hold without throwing', () => {
    const { error } = spies();
    new NestTypeOrmLogger().logQueryError('boom', 'SELECT ?', [10n]);
    expect(error.mock.calls[0][0]).toBe('query failed: boom -- SELECT ? -- parameters: 10');
  });

  it('logs no query that succeeds', async () => {
    const { error, warn, debug } = spies();
    await db.query('SELECT 1');
    expect([error, warn, debug].map((s) => s.mock.calls.length)).toEqual([0, 0, 0]);
  });

  it('sends TypeORM\'s warnings to warn and its other messages to debug', () => {
    const { warn, debug } = spies();
    const logger = new NestTypeOrmLogger();
    logger.log('warn', 'careful');
    logger.log('info', 'fyi');
    logger.logMigration('migration ran');
    expect(warn.mock.calls.map((c) => c[0])).toEqual(['careful']);
    expect(debug.mock.calls.map((c) => c[0])).toEqual(['fyi', 'migration ran']);
  });
});
