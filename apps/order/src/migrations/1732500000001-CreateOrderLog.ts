import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrderLog1732500000001 implements MigrationInterface {
  name = 'CreateOrderLog1732500000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "orders" ("order_no" integer PRIMARY KEY NOT NULL, "epoch" integer NOT NULL, "request_id" varchar(128) NOT NULL, "stock_name" varchar(64) NOT NULL, "trade_type" varchar(8) NOT NULL, "quantity" integer NOT NULL)`,
    );
    await q.query(`CREATE UNIQUE INDEX "IDX_orders_request_id" ON "orders" ("request_id")`);
    await q.query(`CREATE TABLE "replica_meta" ("key" varchar(32) PRIMARY KEY NOT NULL, "value" integer NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "replica_meta"`);
    await q.query(`DROP TABLE "orders"`);
  }
}
