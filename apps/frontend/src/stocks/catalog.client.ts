import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogQueryResponse, CatalogRoutes, FrontendEnv, LookupMessages, StockInfo } from '@app/contracts';
import { InvalidInput, requestIdHeaders, StockNotFound, Unavailable } from '@app/common';

/** Stock lookups at the catalog (`GET /query`). */
@Injectable()
export class CatalogClient {
  private readonly url: string;

  constructor(
    private readonly http: HttpService,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.url = `${config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '')}/${CatalogRoutes.query}`;
  }

  async query(stockName: string, requestId?: string): Promise<StockInfo> {
    let res;
    try {
      res = await this.http.axiosRef.get<CatalogQueryResponse>(this.url, {
        params: { stock_name: stockName },
        headers: requestIdHeaders(requestId),
      });
    } catch (err) {
      throw new Unavailable(`catalog unreachable: ${(err as Error).message}`);
    }
    if (res.status === 200) return res.data.data;
    if (res.status === 404) throw new StockNotFound(LookupMessages.stockNotFound);
    if (res.status === 400) throw new InvalidInput('stock_name is malformed');
    throw new Unavailable(`catalog answered ${res.status}`);
  }
}
