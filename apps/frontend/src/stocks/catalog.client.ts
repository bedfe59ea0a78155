import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogQueryResponse, CatalogRoutes, FrontendEnv, LookupMessages, StockInfo } from '@app/contracts';
import { definiteRefusal, HopClient, requestIdHeaders, Unavailable } from '@app/common';

/** The catalog's refusals of a lookup, as the front end answers them (its own texts: the name was valid here). */
const LOOKUP_REFUSALS = { notFound: LookupMessages.stockNotFound, invalid: 'stock_name is malformed' };

/** How long a lookup waits for the catalog (the internal clients' default), besides the wait for a push below. */
const CATALOG_TIMEOUT_MS = 5000;

/** Stock lookups at the catalog (`GET /query?stock_name=S`). */
@Injectable()
export class CatalogClient {
  private readonly url: string;
  /**
   * The catalog answers a lookup of a stock whose push is under way once the push is safe: up to
   * its INVALIDATION_TIMEOUT_MS (at most a lease), then a lease and LEASE_MARGIN_MS while a front
   * end is out of reach. Three of this front end's leases cover that when both apps share their
   * lease settings and the margin is under a lease (the defaults: 1 s, 1 s and 0.2 s).
   */
  private readonly timeoutMs: number;

  constructor(
    private readonly hops: HopClient,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.url = `${config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '')}/${CatalogRoutes.query}`;
    this.timeoutMs = CATALOG_TIMEOUT_MS + 3 * config.get('CACHE_LEASE_MS', { infer: true });
  }

  async query(stockName: string, requestId?: string): Promise<StockInfo> {
    let res;
    try {
      res = await this.hops.get<CatalogQueryResponse>(this.url, {
        query: { stock_name: stockName },
        timeoutMs: this.timeoutMs,
        headers: requestIdHeaders(requestId),
      });
    } catch (err) {
      throw new Unavailable(`catalog unreachable: ${(err as Error).message}`);
    }
    if (res.status === 200) return res.data.data;
    throw definiteRefusal(res.status, {}, LOOKUP_REFUSALS) ?? new Unavailable(`catalog answered ${res.status}`);
  }
}
