import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { firstValueFrom } from 'rxjs';
import { CatalogEnv, FrontendRoutes } from '@app/contracts';
import { CatalogMetrics } from '../metrics/catalog.metrics';

/** Server push: tells the front end to drop a stock from its cache (`GET /rm`, seed form). */
@Injectable()
export class CacheInvalidationService {
  private readonly logger = new Logger(CacheInvalidationService.name);
  private readonly url: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly http: HttpService,
    private readonly metrics: CatalogMetrics,
    config: ConfigService<CatalogEnv, true>,
  ) {
    this.url = `${config.get('FRONTEND_URL', { infer: true }).replace(/\/$/, '')}/${FrontendRoutes.invalidate}`;
    this.timeoutMs = config.get('INVALIDATION_TIMEOUT_MS', { infer: true });
  }

  /**
   * Attempts the push and resolves either way: a front end that is down has no cache to
   * invalidate, and a trade must not fail because of it.
   */
  async invalidate(stockName: string): Promise<boolean> {
    try {
      const res = await firstValueFrom(
        this.http.get(this.url, { params: { stock_name: stockName }, timeout: this.timeoutMs }),
      );
      this.metrics.invalidations.inc({ result: res.status === 200 ? 'delivered' : 'failed' });
      if (res.status !== 200) this.logger.warn(`invalidation of ${stockName} answered ${res.status}`);
      return res.status === 200;
    } catch (err) {
      this.metrics.invalidations.inc({ result: 'failed' });
      this.logger.warn(`invalidation of ${stockName} not delivered: ${(err as Error).message}`);
      return false;
    }
  }
}
