import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency-key retention: each trade record gets the time it was decided in ms since the epoch
 * (`created_at_ms`), which the cleanup compares with `IDEMPOTENCY_RETENTION_MS`. Existing rows
 * take it from their `created_at` (UTC text, to the second), so they keep the age they have.
 */
export class TradeKeyRetention1760000000000 implements MigrationInterface {
  name = 'TradeKeyRetention1760000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "trades" ADD COLUMN "created_at_ms" integer NOT NULL DEFAULT 0`);
    await q.query(
      `UPDATE "trades" SET "created_at_ms" = CAST(ROUND((julianday("created_at") - 2440587.5) * 86400000) AS INTEGER) WHERE "created_at" IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "trades" DROP COLUMN "created_at_ms"`);
  }
}
