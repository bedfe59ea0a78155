import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { VersionedLruCache } from '@app/cache';
import { Internal } from '@app/common';
import { CacheStats, FrontendRoutes, InvalidateResponse, StockInfo, StockQueryDto } from '@app/contracts';
import { StocksService } from '../stocks/stocks.service';

@ApiTags('cache')
@Controller()
export class CacheInvalidationController {
  constructor(
    private readonly stocks: StocksService,
    private readonly cache: VersionedLruCache<StockInfo>,
  ) {}

  /** `GET /rm?stock_name=S`: the catalog's server push (seed form). */
  @Get(FrontendRoutes.invalidate)
  @Internal()
  invalidate(@Query() q: StockQueryDto): InvalidateResponse {
    return this.stocks.invalidate(q.stock_name);
  }

  /** Hits, misses, evictions, invalidations and dropped stale fills. */
  @Get(FrontendRoutes.cacheStats)
  stats(): CacheStats {
    return this.cache.stats();
  }
}
