import { Injectable } from '@nestjs/common';
import { VersionedLruCache } from '@app/cache';
import { InvalidateBatchResponse, InvalidateResponse, StockInfo } from '@app/contracts';
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
   * Caches a stock as a trade's answer carries it — committed by the catalog, at the trade or
   * later — if the cache can tell it is no older than what it knows (see VersionedLruCache.offer):
   * the lookup that usually follows a trade then needs no trip to the catalog.
   */
  learnFromTrade(stock: unknown): boolean {
    return isStockInfo(stock) && this.cache.offer(stock.stock_name, stock);
  }

  /** The seed's `GET /rm`: no volume, so a cached entry is always dropped (and the seed's texts say which). */
  invalidate(name: string): InvalidateResponse {
    return this.cache.invalidate(name)
      ? { stock_name: name, message: 'removed successfully' }
      : { message: "this stock isn't exist in cache" };
  }

  /**
   * `volumes`: for each name, a trade volume above any the stock had before the change, when the
   * push gives them. A stock whose cached entry already reaches its volume (a trade's answer that
   * arrived first) is kept, and listed with `not_cached`: there was nothing older to drop.
   */
  invalidateMany(names: string[], volumes?: number[]): InvalidateBatchResponse {
    const result: InvalidateBatchResponse = { removed: [], not_cached: [] };
    names.forEach((name, i) => (this.cache.invalidate(name, volumes?.[i]) ? result.removed : result.not_cached).push(name));
    return result;
  }
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** A well-formed stock (a trade's answer comes from another process). */
function isStockInfo(s: unknown): s is StockInfo {
  const o = s as Partial<StockInfo> | null | undefined;
  return typeof o?.stock_name === 'string' && typeof o.price === 'number' && Number.isFinite(o.price) && isCount(o.quantity) && isCount(o.trade_volume);
}
