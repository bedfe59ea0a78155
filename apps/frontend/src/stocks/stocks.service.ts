import { Injectable } from '@nestjs/common';
import { VersionedLruCache } from '@app/cache';
import { InvalidateBatchResponse, InvalidateResponse, StockInfo, StockListResponse } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient } from './catalog.client';

/**
 * Stock lookups through the LRU cache; the catalog pushes invalidations here. The cache serves
 * entries only under the catalog's lease ({@link LeaseService}), asked for on the first lookup.
 */
@Injectable()
export class StocksService {
  constructor(
    private readonly cache: VersionedLruCache<StockInfo>,
    private readonly catalog: CatalogClient,
    private readonly lease: LeaseService,
  ) {}

  /** `requestId`: the lookup's, carried to the catalog on a miss. */
  lookup(name: string, requestId?: string): Promise<StockInfo> {
    if (this.lease.idle) return this.lease.start().then(() => this.lookup(name, requestId));
    return this.cache.getOrLoad(name, () => this.catalog.query(name, requestId));
  }

  /**
   * Every stock, from the catalog each time: a listing is never cached, so it is as fresh as a
   * lookup after any trade (read-your-writes) without a cache entry to invalidate.
   */
  async list(requestId?: string): Promise<StockListResponse> {
    return { data: await this.catalog.list(requestId) };
  }

  invalidate(name: string): InvalidateResponse {
    return this.cache.invalidate(name)
      ? { stock_name: name, message: 'removed successfully' }
      : { message: "this stock isn't exist in cache" };
  }

  invalidateMany(names: string[]): InvalidateBatchResponse {
    const result: InvalidateBatchResponse = { removed: [], not_cached: [] };
    for (const name of names) (this.cache.invalidate(name) ? result.removed : result.not_cached).push(name);
    return result;
  }
}
