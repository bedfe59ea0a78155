import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  OrderPlacedResponse,
  OrderQueryDto,
  OrderQueryResponse,
  OrderRoutes,
  ReplicaTradeBatchDto,
  ReplicaTradeDto,
  TradeBatchResponse,
} from '@app/contracts';
import { Internal, RequestId } from '@app/common';
import { TradeService } from './trade.service';

@ApiTags('orders (internal)')
@Internal()
@Controller()
export class OrdersController {
  constructor(private readonly trades: TradeService) {}

  /** `GET /trade?stock_name&trade_type&quantity&request_id&epoch` (leader only) → `{"order_no":N}`. */
  @Get(OrderRoutes.trade)
  async trade(@Query() dto: ReplicaTradeDto, @RequestId() requestId: string): Promise<OrderPlacedResponse> {
    return { order_no: await this.trades.trade(dto, requestId) };
  }

  /**
   * `POST /trade/batch` `{"epoch","trades":[…]}` (leader only) → `{"results":[{"status","order_no"|"message","code"?},…]}`:
   * trades the front end forwards together, each answered as `GET /trade` would have answered it.
   */
  @Post(OrderRoutes.tradeBatch)
  @HttpCode(200)
  async tradeBatch(@Body() dto: ReplicaTradeBatchDto, @RequestId() requestId: string): Promise<TradeBatchResponse> {
    return { results: await this.trades.tradeBatch(dto, requestId) };
  }

  /** `GET /query?order_no=N` → `{"data":{…}}` or 404 `{"error":{…}}`. */
  @Get(OrderRoutes.query)
  async query(@Query() q: OrderQueryDto): Promise<OrderQueryResponse> {
    return { data: await this.trades.lookup(q.order_no) };
  }
}
