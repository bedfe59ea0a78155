import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogEnv, FrontendRoutes, InvalidateBatchDto, MAX_TRADE_BATCH } from '@app/contracts';
import { Batcher, requestIdHeaders } from '@app/common';
import { CatalogMetrics } from '../metrics/catalog.metrics';

/**
 * Server push: tells the front end to drop stocks from its cache. Pushes are batched: the stocks
 * of every trade committed while a push is under way go together in the next one
 * (`POST /rm {"stock_names":[…]}`), so a batch of trades costs one push, not one per stock.
 */
@Injectable()
export class CacheInvalidationService {
  private readonly logger = new Logger(CacheInvalidationService.name);
  private readonly url: string;
  private readonly timeoutMs: number;
  /** A push only carries stocks submitted before it started: a trade committed earlier is covered by it. */
  private readonly pushes = new Batcher<string, boolean>((names, requestId) => this.push(names, requestId), { maxBatch: MAX_TRADE_BATCH });

  constructor(
    private readonly http: HttpService,
    private readonly metrics: CatalogMetrics,
    config: ConfigService<CatalogEnv, true>,
  ) {
    this.url = `${config.get('FRONTEND_URL', { infer: true }).replace(/\/$/, '')}/${FrontendRoutes.invalidate}`;
    this.timeoutMs = config.get('INVALIDATION_TIMEOUT_MS', { infer: true });
  }

  /**
   * Attempts a push that covers `stockName` and starts after this call, and resolves with whether
   * it was delivered: a front end that is down has no cache to invalidate, and a trade must not
   * fail because of it. The push carries the id of its first trade's request (`requestId`).
   */
  invalidate(stockName: string, requestId?: string): Promise<boolean> {
    return this.pushes.submit(stockName, requestId);
  }

  private async push(names: string[], requestId: string | undefined): Promise<boolean[]> {
    const body: InvalidateBatchDto = { stock_names: [...new Set(names)] };
    let delivered = false;
    try {
      const res = await this.http.axiosRef.post(this.url, body, {
        timeout: this.timeoutMs,
        headers: requestIdHeaders(requestId),
      });
      delivered = res.status === 200;
      if (!delivered) this.logger.warn(`invalidation of ${body.stock_names.join(', ')} answered ${res.status}`);
    } catch (err) {
      this.logger.warn(`invalidation of ${body.stock_names.join(', ')} not delivered: ${(err as Error).message}`);
    }
    this.metrics.invalidations.inc({ result: delivered ? 'delivered' : 'failed' }, body.stock_names.length);
    return names.map(() => delivered);
  }
}
