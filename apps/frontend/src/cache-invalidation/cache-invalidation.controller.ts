import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { VersionedLruCache } from '@app/cache';
import { Internal } from '@app/common';
import {
  CacheStats,
  FrontendRoutes,
  InvalidateBatchDto,
  InvalidateBatchResponse,
  InvalidateResponse,
  StockInfo,
  StockQueryDto,
} from '@app/contracts';
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

  /** `POST /rm` `{"stock_names":[…]}`: the catalog's batched push, one request for every stock a batch of trades moved. */
  @Post(FrontendRoutes.invalidate)
  @HttpCode(200)
  @Internal()
  invalidateMany(@Body() dto: InvalidateBatchDto): InvalidateBatchResponse {
    return this.stocks.invalidateMany(dto.stock_names);
  }

  /** Hits, misses, evictions, invalidations and dropped stale fills. */
  @Get(FrontendRoutes.cacheStats)
  stats(): CacheStats {
    return this.cache.stats();
  }
}
