import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { VersionedLruCache } from '@app/cache';
import { monotonicNow } from '@app/common';
import { FrontendEnv, InvalidateBatchResponse, InvalidateResponse, StockInfo } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient, CatalogOutage } from './catalog.client';

/** The first pause before a lookup asks a catalog that did not answer again; doubled each time, up to {@link RETRY_PAUSE_MAX_MS}. */
export const RETRY_PAUSE_MS = 50;
export const RETRY_PAUSE_MAX_MS = 400;
/** The shortest wait a retried lookup gives the catalog, however little of its deadline is left. */
const MIN_RETRY_TIMEOUT_MS = 500;

/**
 * Stock lookups through the LRU cache; the catalog pushes invalidations here. The cache serves
 * entries only under the catalog's lease ({@link LeaseService}), asked for on the first lookup.
 *
 * The catalog is one process. When it is down (a crash, and the restart that follows), paused
 * past the lookup's timeout, or answers 503, a lookup asks again, with short pauses, for up to
 * `FAILOVER_TIMEOUT_MS` from its own arrival, as a trade rides out a failover: a client sees a
 * catalog restart only as a slower answer. Each try goes through the cache again, so concurrent
 * misses of a stock still share one request to the catalog, but each lookup keeps its own
 * deadline: one that joins another's load is not given up with it. A lookup changes nothing, so
 * asking again is always safe, and what the cache keeps of an answer is judged as for any other
 * (a new catalog process's first lease grant clears what was loaded under the old one's).
 */
@Injectable()
export class StocksService {
  /** How long a lookup keeps asking a catalog that does not answer (`FAILOVER_TIMEOUT_MS`). */
  private readonly retryForMs: number;

  constructor(
    private readonly cache: VersionedLruCache<StockInfo>,
    private readonly catalog: CatalogClient,
    private readonly lease: LeaseService,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.retryForMs = config.get('FAILOVER_TIMEOUT_MS', { infer: true });
  }

  /** `requestId`: the lookup's, carried to the catalog on a miss. */
  lookup(name: string, requestId?: string): Promise<StockInfo> {
    if (this.lease.idle) return this.lease.start().then(() => this.lookup(name, requestId));
    const deadline = monotonicNow() + this.retryForMs;
    return this.cache.getOrLoad(name, () => this.catalog.query(name, requestId)).catch((err: unknown) => this.askAgain(name, requestId, deadline, err));
  }

  /**
   * After a try that failed with `err`: while it is a {@link CatalogOutage} and `deadline` has not
   * passed, tries again after a pause (50 ms, doubling up to 400 ms); otherwise throws the last error.
   * The first try waited as long as the catalog may hold a lookup; a retry waits what is left.
   */
  private async askAgain(name: string, requestId: string | undefined, deadline: number, err: unknown): Promise<StockInfo> {
    for (let pauseMs = RETRY_PAUSE_MS; ; pauseMs = Math.min(2 * pauseMs, RETRY_PAUSE_MAX_MS)) {
      const left = deadline - monotonicNow();
      if (!(err instanceof CatalogOutage) || left <= 0) throw err;
      await sleep(Math.min(pauseMs, left));
      const timeoutMs = Math.max(MIN_RETRY_TIMEOUT_MS, left - pauseMs);
      try {
        return await this.cache.getOrLoad(name, () => this.catalog.query(name, requestId, timeoutMs));
      } catch (e) {
        err = e;
      }
    }
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
