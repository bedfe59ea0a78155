import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogQueryResponse, CatalogRoutes, FrontendEnv, LookupMessages, StockInfo } from '@app/contracts';
import { definiteRefusal, HopClient, requestIdHeaders, Unavailable } from '@app/common';
import { LeaseService } from '../lease/lease.service';

/** The catalog's refusals of a lookup, as the front end answers them (its own texts: the name was valid here). */
const LOOKUP_REFUSALS = { notFound: LookupMessages.stockNotFound, invalid: 'stock_name is malformed' };

/** How long a lookup waits for the catalog (the internal clients' default), besides the wait for a push below. */
const CATALOG_TIMEOUT_MS = 5000;

/**
 * The catalog gave no answer (down, paused past the timeout, the connection cut), or it or a proxy
 * in front of it answered 502, 503 or 504: asking again later may get the stock (see
 * StocksService.lookup).
 */
export class CatalogOutage extends Unavailable {}

/**
 * A try that this front end's drain ended before the catalog answered (see StocksService): it
 * says nothing new of the catalog.
 */
export class DrainEnded extends CatalogOutage {
  constructor() {
    super('catalog had not answered yet');
  }
}

/** Stock lookups at the catalog (`GET /query?stock_name=S`), one try each. */
@Injectable()
export class CatalogClient {
  private readonly url: string;
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
  }

  /** How long a lookup waits for the catalog: the hop's own timeout, plus the longest the catalog may hold it. */
  get timeoutMs(): number {
    return CATALOG_TIMEOUT_MS + Math.max(this.ownGuessMs, this.lease.catalogWaitMs ?? 0);
  }

  /**
   * One try: the stock, or a definite refusal (404, 400), a {@link CatalogOutage} when asking again
   * may help, or Unavailable when it cannot (a 500, a refused cluster token) — all thrown.
   * `signal` ends the try early, as a {@link DrainEnded} (a retry, once the front end drains).
   */
  async query(stockName: string, requestId?: string, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<StockInfo> {
    let res;
    try {
      res = await this.hops.get<CatalogQueryResponse>(this.url, {
        query: { stock_name: stockName },
        timeoutMs,
        headers: requestIdHeaders(requestId),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw new DrainEnded();
      throw new CatalogOutage(`catalog unreachable: ${(err as Error).message}`);
    }
    if (res.status === 200) return res.data.data;
    const definite = definiteRefusal(res.status, {}, LOOKUP_REFUSALS);
    if (definite) throw definite;
    // 503 from the catalog; 502 and 504 from a proxy in front of one that does not answer.
    if (res.status === 502 || res.status === 503 || res.status === 504) throw new CatalogOutage(`catalog answered ${res.status}`);
    throw new Unavailable(`catalog answered ${res.status}`);
  }
}
