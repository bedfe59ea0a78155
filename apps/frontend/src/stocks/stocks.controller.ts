import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FrontendRoutes, StockInfo, StockQueryDto } from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { StockInfoDto } from '@app/contracts/dto/responses.dto';
import { RequestId } from '@app/common';
import { RateLimited } from '../rate-limit/rate-limit';
import { StocksService } from './stocks.service';

@ApiTags('stocks')
@RateLimited()
@Controller()
export class StocksController {
  constructor(private readonly stocks: StocksService) {}

  /** `GET /stocks?stock_name=S` → `{"stock_name","price","trade_volume","quantity"}`, or 404/400 `{"error":{…}}`. */
  @Get(FrontendRoutes.stocks)
  @ApiOperation({ summary: 'Look up a stock', description: 'Served from the cache when it holds the stock, else fetched from the catalog and cached.' })
  @ApiOkResponse({ description: 'the stock', type: StockInfoDto })
  @ApiFailures('error', {
    400: 'a missing or malformed stock_name (empty, repeated, too long, or with characters outside [A-Za-z0-9_.-])',
    404: 'no such stock',
    429: Failure.rateLimited,
    503: 'the catalog cannot be reached',
  })
  lookup(@Query() q: StockQueryDto, @RequestId() requestId: string): Promise<StockInfo> {
    return this.stocks.lookup(q.stock_name, requestId);
  }
}
