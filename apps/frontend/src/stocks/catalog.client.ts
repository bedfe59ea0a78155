import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogQueryResponse, CatalogRoutes, FrontendEnv, LookupMessages, StockInfo } from '@app/contracts';
import { definiteRefusal, HopClient, requestIdHeaders, Unavailable } from '@app/common';

/** The catalog's refusals of a lookup, as the front end answers them (its own texts: the name was valid here). */
const LOOKUP_REFUSALS = { notFound: LookupMessages.stockNotFound, invalid: 'stock_name is malformed' };

/** How long a lookup waits for the catalog (the internal clients' default). */
const CATALOG_TIMEOUT_MS = 5000;

/** Stock lookups at the catalog (`GET /query?stock_name=S`). */
@Injectable()
export class CatalogClient {
  private readonly url: string;

  constructor(
    private readonly hops: HopClient,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.url = `${config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '')}/${CatalogRoutes.query}`;
  }

  async query(stockName: string, requestId?: string): Promise<StockInfo> {
    let res;
    try {
      res = await this.hops.get<CatalogQueryResponse>(this.url, {
        query: { stock_name: stockName },
        timeoutMs: CATALOG_TIMEOUT_MS,
        headers: requestIdHeaders(requestId),
      });
    } catch (err) {
      throw new Unavailable(`catalog unreachable: ${(err as Error).message}`);
    }
    if (res.status === 200) return res.data.data;
    throw definiteRefusal(res.status, {}, LOOKUP_REFUSALS) ?? new Unavailable(`catalog answered ${res.status}`);
  }
}
