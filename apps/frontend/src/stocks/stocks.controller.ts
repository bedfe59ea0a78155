import { Controller, Get, Query } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { FrontendRoutes, StockInfo, StockListResponse, StockLookupQueryDto } from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { StockInfoDto, StockListResponseDto } from '@app/contracts/dto/responses.dto';
import { RequestId } from '@app/common';
import { RateLimited } from '../rate-limit/rate-limit';
import { StocksService } from './stocks.service';

@ApiTags('stocks')
@ApiExtraModels(StockInfoDto, StockListResponseDto)
@RateLimited()
@Controller()
export class StocksController {
  constructor(private readonly stocks: StocksService) {}

  /**
   * `GET /stocks?stock_name=S` → `{"stock_name","price","trade_volume","quantity"}`, or 404/400 `{"error":{…}}`;
   * `GET /stocks` (no `stock_name`) → `{"data":[…]}`, every stock sorted by name, always from the catalog.
   */
  @Get(FrontendRoutes.stocks)
  @ApiOperation({
    summary: 'Look up a stock, or list every stock',
    description:
      'With `stock_name`: the stock (served from the cache when it holds it). Without: every stock sorted by name, ' +
      'fetched from the catalog on each request (never cached).',
  })
  @ApiOkResponse({
    description: 'the stock (with `stock_name`), or `{"data":[…]}` (without)',
    schema: { oneOf: [{ $ref: getSchemaPath(StockInfoDto) }, { $ref: getSchemaPath(StockListResponseDto) }] },
  })
  @ApiFailures('error', {
    400: 'a malformed stock_name (empty, repeated, too long, or with characters outside [A-Za-z0-9_.-])',
    404: 'no such stock',
    429: Failure.rateLimited,
    503: 'the catalog cannot be reached',
  })
  lookup(@Query() q: StockLookupQueryDto, @RequestId() requestId: string): Promise<StockInfo | StockListResponse> {
    return q.stock_name === undefined ? this.stocks.list(requestId) : this.stocks.lookup(q.stock_name, requestId);
  }
}
