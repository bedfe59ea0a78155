import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import type { CatalogEnv } from '@app/contracts';
import { openInMemorySqlite } from '@app/common';
import { CATALOG_MIGRATIONS } from '../migrations';
import { Stock } from './stock.entity';
import { TradeRecord } from './trade-record.entity';
import { forgettable, TradeRetentionService } from './trade-retention.service';

const HOUR = 3_600_000;
const RETENTION = 24 * HOUR;

describe('idempotency key retention at the catalog', () => {
  describe('the rule', () => {
    const now = 100 * HOUR;
    it('never forgets a key inside its window', () => {
      expect(forgettable({ seq: 1, createdAtMs: now - RETENTION + 1 }, now, RETENTION, 10)).toBe(false);
      expect(forgettable({ seq: 1, createdAtMs: now }, now, RETENTION, 10)).toBe(false);
    });
    it('never forgets a trade the reconciliation has not gone past', () => {
      expect(forgettable({ seq: 11, createdAtMs: 0 }, now, RETENTION, 10)).toBe(false);
    });
    it('forgets a reconciled key once its window is over', () => {
      expect(forgettable({ seq: 10, createdAtMs: now - RETENTION }, now, RETENTION, 10)).toBe(true);
    });
  });

  describe('the cleanup, on a real SQLite database and a fake clock', () => {
    let db: DataSource;
    let retention: TradeRetentionService;
    const t0 = Date.UTC(2030, 0, 1);

    beforeEach(async () => {
      db = await openInMemorySqlite([Stock, TradeRecord], CATALOG_MIGRATIONS);
      const settings: Record<string, number> = {
        IDEMPOTENCY_RETENTION_MS: RETENTION,
        IDEMPOTENCY_CLEANUP_INTERVAL_MS: 60_000,
        IDEMPOTENCY_CLEANUP_BATCH: 3,
      };
      retention = new TradeRetentionService(db, { get: (k: string) => settings[k] } as unknown as ConfigService<CatalogEnv, true>);
      // Ten trades, one an hour from t0: seq 1 … 10.
      for (let i = 0; i < 10; i++) {
        await db.query(
          `INSERT INTO "trades" ("request_id", "stock_name", "type", "quantity", "outcome", "created_at_ms") VALUES (?, 'Stock1', 'buy', 1, 'ok', ?)`,
          [`key-${i + 1}`, t0 + i * HOUR],
        );
      }
    });
    afterEach(() => db.destroy());

    const keys = async () => ((await db.query(`SELECT "request_id" FROM "trades" ORDER BY "seq"`)) as { request_id: string }[]).map((r) => r.request_id);

    it('forgets nothing before the reconciliation has listed anything', async () => {
      expect(await retention.cleanupOnce(t0 + 100 * RETENTION)).toBe(0);
      expect(await keys()).toHaveLength(10);
    });

    it('deletes at most a batch per run, oldest first, and only keys past their window', async () => {
      retention.noteReconciled(10);
      const now = t0 + RETENTION + 4.5 * HOUR; // keys 1–5 are past the window, 6–10 inside it
      expect(await retention.cleanupOnce(now)).toBe(3);
      expect(await keys()).toEqual(['key-4', 'key-5', 'key-6', 'key-7', 'key-8', 'key-9', 'key-10']);
      expect(await retention.cleanupOnce(now)).toBe(2);
      expect(await retention.cleanupOnce(now)).toBe(0);
      expect(await keys()).toEqual(['key-6', 'key-7', 'key-8', 'key-9', 'key-10']);
    });

    it('a scheduled run deletes batch after batch until the backlog is gone, however many a busy bazaar made', async () => {
      // One batch a run (1000 a minute) forgot fewer keys than a bazaar trading 20 a second makes.
      retention.noteReconciled(10);
      const now = t0 + RETENTION + 7.5 * HOUR; // keys 1–8 past the window: three batches of 3, 3 and 2
      expect(await retention.cleanup(() => now)).toBe(8);
      expect(await keys()).toEqual(['key-9', 'key-10']);
      expect(await retention.cleanup(() => now)).toBe(0);
    });

    it('keeps a key exactly at the edge of its window until the window is over', async () => {
      retention.noteReconciled(10);
      expect(await retention.cleanupOnce(t0 + RETENTION - 1)).toBe(0);
      expect(await retention.cleanupOnce(t0 + RETENTION)).toBe(1);
      expect(await keys()).toHaveLength(9);
    });

    it('keeps trades past the reconciled point, however old', async () => {
      retention.noteReconciled(2);
      retention.noteReconciled(1); // the point only moves forward
      expect(await retention.cleanupOnce(t0 + 100 * RETENTION)).toBe(2);
      expect(await keys()).toHaveLength(8);
    });

    it('gives rows that predate the migration their age from created_at', async () => {
      const [row] = (await db.query(`SELECT "created_at_ms" FROM "trades" WHERE "seq" = 1`)) as { created_at_ms: number }[];
      expect(row.created_at_ms).toBe(t0);
    });
  });
});
