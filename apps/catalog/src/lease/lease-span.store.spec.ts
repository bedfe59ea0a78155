import { DataSource } from 'typeorm';
import { DatabaseFileError, openInMemorySqlite } from '@app/common';
import { CATALOG_MIGRATIONS } from '../migrations';
import { Stock } from '../stocks/stock.entity';
import { TradeRecord } from '../stocks/trade-record.entity';
import { CatalogMeta } from './catalog-meta.entity';
import { LeaseSpanStore } from './lease-span.store';

describe('LeaseSpanStore (the longest lease span, in the catalog file)', () => {
  let db: DataSource;
  let store: LeaseSpanStore;

  beforeEach(async () => {
    db = await openInMemorySqlite([Stock, TradeRecord, CatalogMeta], CATALOG_MIGRATIONS);
    store = new LeaseSpanStore(db.getRepository(CatalogMeta));
  });

  afterEach(() => db.destroy());

  it('has nothing recorded in a new file', async () => {
    await expect(store.read()).resolves.toBeUndefined();
  });

  it('reads back what was written last, in one row', async () => {
    await store.write(1200);
    await expect(store.read()).resolves.toBe(1200);
    await store.write(30200);
    await store.write(600);
    await expect(store.read()).resolves.toBe(600);
    await expect(db.query(`SELECT "key", "value" FROM "catalog_meta"`)).resolves.toEqual([{ key: 'lease_span_ms', value: 600 }]);
  });

  it('fails with a DatabaseFileError naming the file and SQLite\'s reason when the file refuses the write, and changes nothing', async () => {
    await store.write(1200);
    // A write the file refuses, as a full disk or a read-only file would.
    await db.query(`CREATE TRIGGER refuse_update BEFORE UPDATE ON catalog_meta BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    const err = await store.write(600).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseFileError);
    expect((err as Error).message).toMatch(/^cannot record the cache lease span in database file :memory: \(SQLITE_CONSTRAINT: refused by the test\); .+start it again$/);
    await expect(store.read()).resolves.toBe(1200);
  });

  it('fails with a DatabaseFileError when the file cannot be read', async () => {
    await db.query(`DROP TABLE catalog_meta`);
    await expect(store.read()).rejects.toThrow(/^cannot read the cache lease span in database file :memory: \(SQLITE_ERROR: no such table: catalog_meta\); .+: check the file \(its table catalog_meta, permissions\), then start it again$/);
  });
});
