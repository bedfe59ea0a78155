import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { FrontendRoutes, StockInfo, StockQueryDto } from '@app/contracts';
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
  lookup(@Query() q: StockQueryDto, @RequestId() requestId: string): Promise<StockInfo> {
    return this.stocks.lookup(q.stock_name, requestId);
  }
}
