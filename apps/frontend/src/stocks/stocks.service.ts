import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { VersionedLruCache } from '@app/cache';
import { HttpDrain, monotonicNow } from '@app/common';
import { FrontendEnv, InvalidateBatchResponse, InvalidateResponse, StockInfo } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient, CatalogOutage, DrainEnded } from './catalog.client';

/** The first pause before a lookup asks a catalog that did not answer again; doubled each time, up to {@link RETRY_PAUSE_MAX_MS}. */
export const RETRY_PAUSE_MS = 50;
export const RETRY_PAUSE_MAX_MS = 400;

/**
 * The pause before a lookup's `retry`th try again (1 for the first): 50 ms doubled each time up to
 * 400 ms, of which a random part of up to half is taken off (`random` in [0, 1)), so that lookups
 * of different stocks that failed together do not all ask a catalog that is starting together.
 */
export function retryPause(retry: number, random = Math.random()): number {
  const full = Math.min(RETRY_PAUSE_MAX_MS, RETRY_PAUSE_MS * 2 ** Math.min(retry - 1, 10));
  return full - Math.floor((full / 2) * random);
}

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
 *
 * Once a lookup has asked for that long in vain, with no answer from the catalog to any lookup or
 * lease request meanwhile, the catalog counts as out of reach (a partition, a catalog that does
 * not come back): a lookup the cache cannot serve is then asked once, not again, and only one at
 * a time (lookups of its stock share its try); the others are answered 503 at once. A client
 * with another front end moves to it then, rather than waiting `FAILOVER_TIMEOUT_MS` for each
 * lookup here. Any answer from the catalog (to a lookup or a lease request; anything but a 502,
 * 503 or 504) ends that, and so does `FAILOVER_TIMEOUT_MS` without a failed try: a later outage is
 * ridden out as any other.
 *
 * A front end that is shutting down asks no lookup again: once its drain begins, a lookup that is
 * retrying (in a pause, or waiting for a retry's answer) is answered 503 at once, so that a client
 * with another front end moves to it and the drain is not held for up to `FAILOVER_TIMEOUT_MS`
 * (see {@link askAgain}).
 */
@Injectable()
export class StocksService {
  private readonly logger = new Logger(StocksService.name);
  /** How long a lookup keeps asking a catalog that does not answer (`FAILOVER_TIMEOUT_MS`). */
  private readonly retryForMs: number;
  /**
   * Set when a lookup gave up on the catalog: since when it had not answered (that lookup's
   * arrival), when a try last failed (monotonic ms), and why. See {@link currentOutage}.
   */
  private outOfReach?: Outage;
  /** A lookup is asking the catalog while it is out of reach (one at a time). */
  private probing = false;
  /** When the catalog last answered a lookup (monotonic ms; any answer but a {@link CatalogOutage}). */
  private answeredAt = -Infinity;
  /** Lookups answered 503 at once, without asking the catalog, while it was out of reach. */
  private shedCount = 0;

  constructor(
    private readonly cache: VersionedLruCache<StockInfo>,
    private readonly catalog: CatalogClient,
    private readonly lease: LeaseService,
    config: ConfigService<FrontendEnv, true>,
    private readonly drain: HttpDrain,
  ) {
    this.retryForMs = config.get('FAILOVER_TIMEOUT_MS', { infer: true });
  }

  /** `requestId`: the lookup's, carried to the catalog on a miss. */
  lookup(name: string, requestId?: string): Promise<StockInfo> {
    if (this.lease.idle) return this.lease.start().then(() => this.lookup(name, requestId));
    const outage = this.currentOutage();
    if (outage) return this.cache.getOrLoad(name, () => this.probe(name, requestId, outage));
    const deadline = monotonicNow() + this.retryForMs;
    return this.cache.getOrLoad(name, () => this.ask(name, requestId)).catch((err: unknown) => this.askAgain(name, requestId, deadline, err));
  }

  /** Whether the catalog is out of reach now (see the class; `bazaar_catalog_out_of_reach`). */
  get catalogOutOfReach(): boolean {
    return this.currentOutage() !== undefined;
  }

  /** Lookups answered 503 at once while the catalog was out of reach (`bazaar_lookups_shed_total`). */
  get shed(): number {
    return this.shedCount;
  }

  /** One try at the catalog; an answer from it, a refusal included, is noted (it is within reach). */
  private async ask(name: string, requestId?: string, timeoutMs?: number, signal?: AbortSignal): Promise<StockInfo> {
    try {
      const stock = await this.catalog.query(name, requestId, timeoutMs, signal);
      this.answeredAt = monotonicNow();
      return stock;
    } catch (err) {
      if (!(err instanceof CatalogOutage)) this.answeredAt = monotonicNow();
      throw err;
    }
  }

  /** When the catalog last answered a lookup or a lease request (monotonic ms). */
  private lastAnswer(): number {
    return Math.max(this.answeredAt, this.lease.answeredAt ?? -Infinity);
  }

  /**
   * The outage, while the catalog is still out of reach: it has answered nothing since a try last
   * failed, and that was within `FAILOVER_TIMEOUT_MS`. Otherwise it is over, and forgotten.
   */
  private currentOutage(): Outage | undefined {
    const outage = this.outOfReach;
    if (!outage) return undefined;
    const answered = this.lastAnswer() >= outage.failedAt;
    if (!answered && monotonicNow() - outage.failedAt <= this.retryForMs) return outage;
    this.outOfReach = undefined;
    this.logger.log(answered ? 'the catalog answers again: lookups ask it as usual' : `no lookup has failed to reach the catalog for ${this.retryForMs / 1000} s: lookups ask it as usual`);
    return undefined;
  }

  /** While the catalog is out of reach: one try, if no other lookup is trying; else 503 at once. */
  private async probe(name: string, requestId: string | undefined, outage: Outage): Promise<StockInfo> {
    if (this.probing) {
      this.shedCount++;
      const forS = ((monotonicNow() - outage.since) / 1000).toFixed(1);
      throw new CatalogOutage(`catalog out of reach for ${forS} s (${outage.reason}); another lookup is asking it`);
    }
    this.probing = true;
    try {
      return await this.ask(name, requestId);
    } catch (err) {
      if (err instanceof CatalogOutage) {
        outage.failedAt = monotonicNow();
        outage.reason = err.message;
      }
      throw err;
    } finally {
      this.probing = false;
    }
  }

  /**
   * After a try that failed with `err`: while it is a {@link CatalogOutage} and `deadline` has not
   * passed, tries again after a pause ({@link retryPause}: 50 ms, doubling up to 400 ms, less up to
   * half at random); otherwise throws the last error. The first try waited as long as the catalog
   * may hold a lookup; a retry waits what is left.
   *
   * Once the front end's drain begins, a lookup asks no more: its pause, or its wait for a retry
   * (a catalog that is paused or cut off holds it), ends at once, and it is answered 503 with the
   * reason it was retrying. That holds when the retry shares another lookup's try of the stock
   * too: that try goes on for the other lookup, unheeded here. A retry's own request to the catalog
   * is ended (so the HTTP client has nothing left to wait for at exit); a first try that shares it
   * is then answered at once too, {@link DrainEnded}. An answer that came first (a stock, a 404)
   * is still given.
   */
  private async askAgain(name: string, requestId: string | undefined, deadline: number, err: unknown): Promise<StockInfo> {
    const stopping = this.drain.stopping;
    for (let retry = 1; ; retry++) {
      if (!(err instanceof CatalogOutage)) throw err;
      if (stopping.aborted) throw shuttingDown(err);
      const left = deadline - monotonicNow();
      if (left <= 0) throw this.gaveUp(deadline - this.retryForMs, err);
      const pauseMs = Math.min(retryPause(retry), left);
      if (!(await sleep(pauseMs, true, { signal: stopping }).catch(() => false))) throw shuttingDown(err);
      const timeoutMs = Math.max(MIN_RETRY_TIMEOUT_MS, left - pauseMs);
      try {
        return await unlessStopped(this.cache.getOrLoad(name, () => this.ask(name, requestId, timeoutMs, stopping)), stopping);
      } catch (e) {
        // A try the drain ended says nothing new of the catalog: the reason stays the last one.
        if (!(e instanceof DrainEnded)) err = e;
      }
    }
  }

  /**
   * A lookup that arrived at `since` asked the catalog for FAILOVER_TIMEOUT_MS in vain: unless the
   * catalog answered another lookup or a lease request meanwhile, it is out of reach.
   */
  private gaveUp(since: number, err: CatalogOutage): CatalogOutage {
    const outage = this.currentOutage();
    if (outage) {
      outage.failedAt = monotonicNow();
      outage.reason = err.message;
    } else if (this.lastAnswer() < since) {
      this.outOfReach = { since, failedAt: monotonicNow(), reason: err.message };
      this.logger.warn(`the catalog has not answered a lookup for ${this.retryForMs / 1000} s (${err.message}): until it does, a lookup the cache cannot serve is asked once, one at a time, and answered 503 at once otherwise`);
    }
    return err;
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

/** The catalog out of reach (see StocksService): since when, when a try last failed (monotonic ms), and why. */
interface Outage {
  since: number;
  failedAt: number;
  reason: string;
}

/** A lookup's last failure, answered at once because this front end is shutting down. */
function shuttingDown(err: CatalogOutage): CatalogOutage {
  return new CatalogOutage(`${err.message}; this front end is shutting down: ask another`);
}

/** What `load` settles with, unless `signal` is aborted first: then a {@link DrainEnded} (`load` goes on, unheeded). */
function unlessStopped<T>(load: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DrainEnded());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DrainEnded());
    signal.addEventListener('abort', onAbort, { once: true });
    load.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** A well-formed stock (a trade's answer comes from another process). */
function isStockInfo(s: unknown): s is StockInfo {
  const o = s as Partial<StockInfo> | null | undefined;
  return typeof o?.stock_name === 'string' && typeof o.price === 'number' && Number.isFinite(o.price) && isCount(o.quantity) && isCount(o.trade_volume);
}
