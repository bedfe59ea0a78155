import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency-key retention in the order log: each entry gets the time the leader appended it in
 * ms since the epoch (`created_at`), and the client's key (`idempotency_key`), which is the request
 * id except for a key reused after its window (see OrderLogService.liveKeys). Existing entries
 * take the request id as their key and the migration's time as their start: an upgrade never
 * shortens the window of a key in use, it gives every existing key a full one.
 */
export class OrderKeyRetention1760000000001 implements MigrationInterface {
  name = 'OrderKeyRetention1760000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "orders" ADD COLUMN "created_at" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "orders" ADD COLUMN "idempotency_key" varchar(128)`);
    await q.query(`UPDATE "orders" SET "created_at" = ?, "idempotency_key" = "request_id"`, [Date.now()]);
    await q.query(`CREATE INDEX "IDX_orders_idempotency_key" ON "orders" ("idempotency_key")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_orders_idempotency_key"`);
    await q.query(`ALTER TABLE "orders" DROP COLUMN "idempotency_key"`);
    await q.query(`ALTER TABLE "orders" DROP COLUMN "created_at"`);
  }
}
