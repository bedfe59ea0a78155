import { DataSource } from 'typeorm';
import { openInMemorySqlite } from '@app/common';
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
});
