import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { VersionedLruCache } from '@app/cache';
import { DomainError, Internal } from '@app/common';
import { FrontendRoutes, InvalidateBatchDto, StockQueryDto } from '@app/contracts';
import type { CacheStats, InvalidateBatchResponse, InvalidateResponse, StockInfo } from '@app/contracts';
import { ApiDocModels, ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { CacheStatsDto, INVALIDATE_RESPONSE_SCHEMA, InvalidateBatchResponseDto } from '@app/contracts/dto/responses.dto';
import { LeaseService } from '../lease/lease.service';
import { StocksService } from '../stocks/stocks.service';

/** A push meant for another front end's lease (409). */
export class NotLeaseHolder extends DomainError {
  constructor(message: string) {
    super(409, message, 'not_lease_holder');
  }
}

@ApiTags('cache')
@ApiDocModels()
@Controller()
export class CacheInvalidationController {
  constructor(
    private readonly stocks: StocksService,
    private readonly cache: VersionedLruCache<StockInfo>,
    private readonly lease: LeaseService,
  ) {}

  /** `GET /rm?stock_name=S`: the catalog's server push (seed form). */
  @Get(FrontendRoutes.invalidate)
  @Internal()
  @ApiOperation({ summary: 'Drop a stock from the cache (the catalog\'s push, seed form)' })
  @ApiOkResponse({ description: 'the seed\'s texts: removed, or not in the cache', schema: INVALIDATE_RESPONSE_SCHEMA })
  @ApiFailures('error', { 400: 'a missing or malformed stock_name' })
  invalidate(@Query() q: StockQueryDto): InvalidateResponse {
    return this.stocks.invalidate(q.stock_name);
  }

  /** `POST /rm` `{"stock_names":[…]}`: the catalog's batched push, one request for every stock a batch of trades moved. */
  @Post(FrontendRoutes.invalidate)
  @HttpCode(200)
  @Internal()
  @ApiOperation({ summary: 'Drop several stocks from the cache (the catalog\'s batched push)' })
  @ApiOkResponse({ description: 'which stocks were cached and which were not', type: InvalidateBatchResponseDto })
  @ApiFailures('error', {
    400: `${Failure.invalid}: stock_names, 1–128 well-formed names`,
    409: 'the push names another front end (`frontend`) or another process of this one (`instance`): the lease it invalidates is not this one\'s, and nothing is dropped',
    413: Failure.tooLarge,
    415: Failure.unsupported,
  })
  invalidateMany(@Body() dto: InvalidateBatchDto): InvalidateBatchResponse {
    // The catalog counts a 200 as the lease holder having dropped the stocks: only the holder may
    // answer one. (Another front end can answer at the holder's URL when the catalog lists one
    // URL for two of them: the catalog then waits for the holder's lease instead.)
    if (dto.frontend !== undefined && dto.frontend !== this.lease.frontendId) {
      throw new NotLeaseHolder(`this push is for front end ${dto.frontend}; this is ${this.lease.frontendId}`);
    }
    if (dto.instance !== undefined && dto.instance !== this.lease.instance) {
      throw new NotLeaseHolder(`this push is for another process of front end ${dto.frontend ?? this.lease.frontendId} (${dto.instance}); this is ${this.lease.instance}`);
    }
    return this.stocks.invalidateMany(dto.stock_names, dto.trade_volumes);
  }

  /** Hits, misses, evictions, invalidations and dropped stale fills. */
  @Get(FrontendRoutes.cacheStats)
  @ApiOperation({ summary: 'Cache statistics' })
  @ApiOkResponse({ description: 'the switch, capacity, size and counters since start', type: CacheStatsDto })
  stats(): CacheStats {
    return this.cache.stats();
  }
}
