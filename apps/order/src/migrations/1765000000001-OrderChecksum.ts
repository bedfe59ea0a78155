import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each order log entry gets the checksum its leader computed (see orderChecksum). Existing entries
 * keep none: a checksum made now would vouch for whatever the file holds today, so they are left
 * to the comparison of copies between replicas, as before.
 */
export class OrderChecksum1765000000001 implements MigrationInterface {
  name = 'OrderChecksum1765000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "orders" ADD COLUMN "checksum" varchar(16)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "orders" DROP COLUMN "checksum"`);
  }
}
