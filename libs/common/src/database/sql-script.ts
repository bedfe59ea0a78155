import type { DataSource } from 'typeorm';

/** A value a {@link sql} template may inline: finite numbers, strings without NUL, null. */
export type SqlValue = string | number | null;

/**
 * A SQL literal for `value`. Strings are quoted with `'` doubled — the only character special
 * inside an SQLite string literal; numbers must be finite. Anything else is refused, so a script
 * built from these can only ever hold the values it was given, never other SQL.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number for SQL: ${value}`);
    return String(value);
  }
  if (typeof value !== 'string') throw new TypeError(`not a SQL value: ${typeof value}`);
  if (value.includes('\0')) throw new TypeError('a SQL string may not contain NUL');
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Tagged template for one SQL statement: every `${value}` becomes {@link sqlLiteral}(value), an
 * array of rows becomes `(a, b), (c, d)` (for multi-row `VALUES`).
 *
 * ```ts
 * sql`INSERT INTO "orders" ("order_no", "request_id") VALUES ${rows.map((r) => [r.no, r.id])}`
 * ```
 */
export function sql(strings: TemplateStringsArray, ...values: (SqlValue | SqlValue[][])[]): string {
  return strings.reduce((out, text, i) => {
    if (i === 0) return text;
    const v = values[i - 1];
    const literal = Array.isArray(v) ? v.map((row) => `(${row.map(sqlLiteral).join(', ')})`).join(', ') : sqlLiteral(v);
    return `${out}${literal}${text}`;
  });
}

interface RawSqlite {
  exec(sql: string, callback: (err: Error | null) => void): void;
  all(sql: string, callback: (err: Error | null, rows: unknown[]) => void): void;
}

function connectionOf(dataSource: DataSource): RawSqlite {
  // TypeORM's sqlite driver exposes the sqlite3 Database it opened (one connection per data source).
  const connection = (dataSource.driver as unknown as { databaseConnection?: RawSqlite }).databaseConnection;
  if (!connection) throw new Error('the data source has no open sqlite3 connection');
  return connection;
}

function exec(connection: RawSqlite, script: string): Promise<void> {
  return new Promise((resolve, reject) => connection.exec(script, (err) => (err ? reject(err) : resolve())));
}

/**
 * Runs `statements` as one transaction in a single sqlite3 `exec` call: one round trip to
 * sqlite3's worker thread and one commit (one fsync) for the lot, where TypeORM's transaction
 * takes one round trip per statement — the hot write paths (the catalog's and the order log's
 * group commits) spend a batch on it. On any failure the transaction is rolled back and the
 * error rethrown; nothing of it is kept.
 *
 * The caller must be the only writer (the services run these under their write lock), since it
 * shares TypeORM's connection without TypeORM knowing of the transaction.
 */
export async function execTransaction(dataSource: DataSource, statements: string[]): Promise<void> {
  const connection = connectionOf(dataSource);
  try {
    await exec(connection, `BEGIN;\n${statements.join(';\n')};\nCOMMIT;`);
  } catch (err) {
    // exec stops at the failing statement, leaving the transaction open (unless COMMIT itself ended it).
    await exec(connection, 'ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Runs one query built with {@link sql} on the data source's sqlite3 connection and returns its
 * rows as SQLite gives them (columns by their SQL names). For the hot point lookups (the order
 * log's key lookups): a TypeORM `findBy` costs three to four times the CPU and time of this on
 * this VM (metadata, query building, entity hydration). The query waits for a script of
 * {@link execTransaction} under way, as TypeORM's own queries do (sqlite3 runs an `exec` alone).
 */
export function queryRows<T>(dataSource: DataSource, query: string): Promise<T[]> {
  const connection = connectionOf(dataSource);
  return new Promise((resolve, reject) => connection.all(query, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
}

/** True for SQLite's constraint violations (a UNIQUE request id seen again, say). */
export function isConstraintViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT';
}
