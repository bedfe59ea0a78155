import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Small persisted facts of the catalog (`catalog_meta`, key → integer). The first is the longest
 * a cache lease granted by any process of this catalog may last (`lease_span_ms`), which the
 * next process's start-up fence waits out (see LeaseSpanStore). A file from before it has no row:
 * its processes granted leases of the new process's settings, as far as the file knows.
 */
export class CatalogMeta1765000000000 implements MigrationInterface {
  name = 'CatalogMeta1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "catalog_meta" ("key" varchar(32) PRIMARY KEY NOT NULL, "value" integer NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "catalog_meta"`);
  }
}
