import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DatabaseFileError } from '@app/common';
import { CatalogMeta } from './catalog-meta.entity';

const LEASE_SPAN = 'lease_span_ms';

/**
 * The longest a cache lease granted by any process of this catalog may still last after that
 * process has gone: `CACHE_LEASE_MS` + `LEASE_MARGIN_MS` of the process that granted it, persisted
 * in the catalog's file (`catalog_meta`). A process started with shorter settings than its
 * predecessor reads it to know how long its start-up fence must last (see
 * CacheInvalidationService): its own settings say nothing of the leases granted before it.
 *
 * Both methods fail with a {@link DatabaseFileError} naming the file: at start-up the bootstrap
 * prints it as one line and the catalog exits 1, before it grants any lease.
 */
@Injectable()
export class LeaseSpanStore {
  constructor(@InjectRepository(CatalogMeta) private readonly meta: Repository<CatalogMeta>) {}

  /** The span recorded by the last process, if any (none in a new file, or one from before it was kept). */
  async read(): Promise<number | undefined> {
    return (await this.fileError('read', () => this.meta.findOneBy({ key: LEASE_SPAN })))?.value;
  }

  /** Records `spanMs`, committed before it returns. */
  async write(spanMs: number): Promise<void> {
    await this.fileError('record', () => this.meta.upsert({ key: LEASE_SPAN, value: spanMs }, ['key']));
  }

  private async fileError<T>(what: 'read' | 'record', op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      const file = String(this.meta.manager.connection.options.database);
      const remedy = what === 'read' ? 'check the file (its table catalog_meta, permissions)' : 'make the file writable (disk space, permissions)';
      throw new DatabaseFileError(
        `cannot ${what} the cache lease span in database file ${file} (${(err as Error).message}); ` +
          `at start-up the catalog grants no cache lease before it knows how long its predecessors' leases last: ${remedy}, then start it again`,
      );
    }
  }
}
