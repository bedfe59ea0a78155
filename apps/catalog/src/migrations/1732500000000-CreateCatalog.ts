import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCatalog1732500000000 implements MigrationInterface {
  name = 'CreateCatalog1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "stocks" ("name" varchar(64) PRIMARY KEY NOT NULL, "price" real NOT NULL, "trade_volume" integer NOT NULL, "quantity" integer NOT NULL)`,
    );
    await q.query(
      `CREATE TABLE "trades" ("seq" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "request_id" varchar(128) NOT NULL, "stock_name" varchar(64) NOT NULL, "type" varchar(8) NOT NULL, "quantity" integer NOT NULL, "outcome" varchar(8) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')))`,
    );
    await q.query(`CREATE UNIQUE INDEX "IDX_trades_request_id" ON "trades" ("request_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "trades"`);
    await q.query(`DROP TABLE "stocks"`);
  }
}
