import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  CatalogQueryResponse,
  CatalogRoutes,
  CatalogTradeBatchDto,
  CatalogTradeDto,
  CatalogTradesPage,
  MessageResponse,
  PageQueryDto,
  StockQueryDto,
  TradeBatchResponse,
} from '@app/contracts';
import { Internal, RequestId } from '@app/common';
import { StocksService } from './stocks.service';

@ApiTags('catalog (internal)')
@Internal()
@Controller()
export class StocksController {
  constructor(private readonly stocks: StocksService) {}

  /** `GET /query?stock_name=S` → `{"data":{…}}` or 404 `{"error":{…}}`. */
  @Get(CatalogRoutes.query)
  async query(@Query() q: StockQueryDto): Promise<CatalogQueryResponse> {
    return { data: await this.stocks.lookup(q.stock_name) };
  }

  /** `POST /trade` → `{"message":…}` with 200, 404 or 409. */
  @Post(CatalogRoutes.trade)
  @HttpCode(200)
  async trade(@Body() dto: CatalogTradeDto, @RequestId() requestId: string): Promise<MessageResponse> {
    return { message: await this.stocks.trade(dto, requestId) };
  }

  /**
   * `POST /trade/batch` `{"trades":[…]}` → `{"results":[{"status","message"},…]}`: each trade as
   * `POST /trade` would have answered it, decided in order (the order leader's group commit).
   */
  @Post(CatalogRoutes.tradeBatch)
  @HttpCode(200)
  async tradeBatch(@Body() dto: CatalogTradeBatchDto, @RequestId() requestId: string): Promise<TradeBatchResponse> {
    return { results: await this.stocks.tradeBatch(dto.trades, requestId) };
  }

  /** `GET /trades?after=N&limit=K`: applied trades in catalog order, for order-log reconciliation. */
  @Get(CatalogRoutes.trades)
  async trades(@Query() page: PageQueryDto): Promise<CatalogTradesPage> {
    return { trades: await this.stocks.appliedTrades(page.after, page.limit) };
  }
}
