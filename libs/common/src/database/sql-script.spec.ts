import { Database } from 'sqlite3';
import type { DataSource } from 'typeorm';
import { execTransaction, isConstraintViolation, queryRows, sql, sqlLiteral } from './sql-script';

describe('sql scripts', () => {
  it('quotes strings by doubling single quotes and refuses what is not a plain value', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral("'); DROP TABLE x; --")).toBe("'''); DROP TABLE x; --'");
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(-1.5)).toBe('-1.5');
    expect(sqlLiteral(null)).toBe('NULL');
    expect(() => sqlLiteral(Number.NaN)).toThrow(TypeError);
    expect(() => sqlLiteral(Infinity)).toThrow(TypeError);
    expect(() => sqlLiteral('a\0b')).toThrow(TypeError);
    expect(() => sqlLiteral({} as unknown as string)).toThrow(TypeError);
  });

  it('inlines values and rows into a statement', () => {
    expect(sql`UPDATE "s" SET "q" = ${3} WHERE "name" = ${"O'Neil"}`).toBe(`UPDATE "s" SET "q" = 3 WHERE "name" = 'O''Neil'`);
    expect(sql`INSERT INTO "t" VALUES ${[[1, 'a'], [2, 'b']]}`).toBe(`INSERT INTO "t" VALUES (1, 'a'), (2, 'b')`);
  });

  describe('execTransaction', () => {
    let db: Database;
    const dataSource = () => ({ driver: { databaseConnection: db } }) as unknown as DataSource;
    const all = (q: string) => new Promise<unknown[]>((res, rej) => db.all(q, (e, rows) => (e ? rej(e) : res(rows))));

    beforeEach(async () => {
      db = new Database(':memory:');
      await new Promise<void>((res, rej) => db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)', (e) => (e ? rej(e) : res())));
    });
    afterEach(() => new Promise<void>((res) => db.close(() => res())));

    it('commits every statement together', async () => {
      await execTransaction(dataSource(), [sql`INSERT INTO t VALUES ${[[1, "a'1"], [2, 'b']]}`, sql`UPDATE t SET v = ${'c'} WHERE id = ${2}`]);
      expect(await all('SELECT * FROM t ORDER BY id')).toEqual([
        { id: 1, v: "a'1" },
        { id: 2, v: 'c' },
      ]);
    });

    it('keeps nothing of a script that fails part-way, and leaves the connection usable', async () => {
      await execTransaction(dataSource(), [sql`INSERT INTO t VALUES (${1}, ${'x'})`]);
      const err = await execTransaction(dataSource(), [sql`INSERT INTO t VALUES (${2}, ${'y'})`, sql`INSERT INTO t VALUES (${3}, ${'x'})`]).catch((e: unknown) => e);
      expect(isConstraintViolation(err)).toBe(true);
      expect(await all('SELECT id FROM t')).toEqual([{ id: 1 }]);
      await execTransaction(dataSource(), [sql`INSERT INTO t VALUES (${2}, ${'y'})`]);
      expect(await all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('queryRows returns the rows of one query, and rejects a bad one', async () => {
      await execTransaction(dataSource(), [sql`INSERT INTO t VALUES ${[[1, 'a'], [2, "b'"]]}`]);
      await expect(queryRows(dataSource(), sql`SELECT * FROM t WHERE v = ${"b'"}`)).resolves.toEqual([{ id: 2, v: "b'" }]);
      await expect(queryRows(dataSource(), 'SELECT nope FROM t')).rejects.toThrow(/no such column/);
    });
  });
});
