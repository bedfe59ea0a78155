import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogQueryResponse, CatalogRoutes, FrontendEnv, LookupMessages, StockInfo } from '@app/contracts';
import { definiteRefusal, HopClient, monotonicNow, requestIdHeaders, Unavailable } from '@app/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseService } from '../lease/lease.service';

/** The catalog's refusals of a lookup, as the front end answers them (its own texts: the name was valid here). */
const LOOKUP_REFUSALS = { notFound: LookupMessages.stockNotFound, invalid: 'stock_name is malformed' };

/** How long a lookup waits for the catalog (the internal clients' default), besides the wait for a push below. */
const CATALOG_TIMEOUT_MS = 5000;

/** The first pause before a lookup asks a catalog that did not answer again; doubled each time, up to {@link RETRY_PAUSE_MAX_MS}. */
export const RETRY_PAUSE_MS = 50;
export const RETRY_PAUSE_MAX_MS = 400;
/** The shortest wait a retried lookup is given, however little of its deadline is left. */
const MIN_RETRY_TIMEOUT_MS = 500;

/**
 * Stock lookups at the catalog (`GET /query?stock_name=S`).
 *
 * The catalog is one process. When it is down (a crash, and the restart that follows), paused, or
 * answers 503, a lookup asks it again, with short pauses, for up to `FAILOVER_TIMEOUT_MS` from its
 * first try, as a trade rides out a failover: a client does not see a catalog restart, only a
 * slower answer. A lookup changes nothing, so asking again is always safe, and what the cache
 * keeps of an answer is judged as for any other (a new catalog's lease clears what was loaded
 * before it). Past the deadline, or on an answer that asking again cannot change (a 500), 503.
 */
@Injectable()
export class CatalogClient {
  private readonly url: string;
  /** How long a lookup keeps asking a catalog that does not answer (`FAILOVER_TIMEOUT_MS`). */
  private readonly retryForMs: number;
  /**
   * The catalog answers a lookup of a stock whose push is under way once the push is safe: up to
   * its INVALIDATION_TIMEOUT_MS, then a lease and LEASE_MARGIN_MS while a front end is out of
   * reach. Its grants say how long that is at most (`wait_ms`); until one has, three of this front
   * end's leases stand in for it (the defaults: 1 s, 1 s and 0.2 s).
   */
  private readonly ownGuessMs: number;

  constructor(
    private readonly hops: HopClient,
    private readonly lease: LeaseService,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.url = `${config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '')}/${CatalogRoutes.query}`;
    this.ownGuessMs = 3 * config.get('CACHE_LEASE_MS', { infer: true });
    this.retryForMs = config.get('FAILOVER_TIMEOUT_MS', { infer: true });
  }

  /** How long a lookup waits for the catalog: the hop's own timeout, plus the longest the catalog may hold it. */
  get timeoutMs(): number {
    return CATALOG_TIMEOUT_MS + Math.max(this.ownGuessMs, this.lease.catalogWaitMs ?? 0);
  }

  async query(stockName: string, requestId?: string): Promise<StockInfo> {
    const deadline = monotonicNow() + this.retryForMs;
    // The first try waits as long as the catalog may hold a lookup; a retry at most what is left.
    let timeoutMs = this.timeoutMs;
    for (let pauseMs = RETRY_PAUSE_MS; ; pauseMs = Math.min(2 * pauseMs, RETRY_PAUSE_MAX_MS)) {
      const problem = await this.ask(stockName, requestId, timeoutMs);
      if (typeof problem !== 'string') return problem;
      const left = deadline - monotonicNow();
      if (left <= pauseMs) throw new Unavailable(problem);
      await sleep(pauseMs);
      timeoutMs = Math.max(MIN_RETRY_TIMEOUT_MS, left - pauseMs);
    }
  }

  /** One try: the stock, a definite refusal (thrown), or why asking again may help. */
  private async ask(stockName: string, requestId: string | undefined, timeoutMs: number): Promise<StockInfo | string> {
    let res;
    try {
      res = await this.hops.get<CatalogQueryResponse>(this.url, {
        query: { stock_name: stockName },
        timeoutMs,
        headers: requestIdHeaders(requestId),
      });
    } catch (err) {
      return `catalog unreachable: ${(err as Error).message}`;
    }
    if (res.status === 200) return res.data.data;
    const definite = definiteRefusal(res.status, {}, LOOKUP_REFUSALS);
    if (definite) throw definite;
    if (res.status === 503) return `catalog answered 503`;
    throw new Unavailable(`catalog answered ${res.status}`);
  }
}
