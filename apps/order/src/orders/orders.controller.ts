import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  OrderPlacedResponse,
  OrderQueryDto,
  OrderQueryResponse,
  OrderRoutes,
  ReplicaTradeBatchDto,
  ReplicaTradeDto,
  TradeBatchResponse,
} from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { OrderPlacedResponseDto, OrderQueryResponseDto, TradeBatchResponseDto } from '@app/contracts/dto/responses.dto';
import { Internal, RequestId } from '@app/common';
import { TradeService } from './trade.service';

@ApiTags('orders (internal)')
@Internal()
@Controller()
export class OrdersController {
  constructor(private readonly trades: TradeService) {}

  /** `GET /trade?stock_name&trade_type&quantity&request_id&epoch` (leader only) → `{"order_no":N}`. */
  @Get(OrderRoutes.trade)
  @ApiOperation({ summary: 'Place one trade (seed form, leader only): trade at the catalog, log, replicate, acknowledge once durable' })
  @ApiOkResponse({ description: 'the order\'s number', type: OrderPlacedResponseDto })
  @ApiFailures('order', {
    400: `${Failure.invalid}: stock_name, trade_type, quantity, request_id or epoch`,
    401: Failure.token,
    404: '`Stock not found!`',
    409: '`Trade failed!`, with the catalog\'s `reason`',
    503: 'refused with a `code`: not_leader, stale_epoch, not_ready, insufficient_replicas, not_durable, catalog_unavailable',
  })
  async trade(@Query() dto: ReplicaTradeDto, @RequestId() requestId: string): Promise<OrderPlacedResponse> {
    return { order_no: await this.trades.trade(dto, requestId) };
  }

  /**
   * `POST /trade/batch` `{"epoch","trades":[…]}` (leader only) → `{"results":[{"status","order_no"|"message","code"?},…]}`:
   * trades the front end forwards together, each answered as `GET /trade` would have answered it.
   */
  @Post(OrderRoutes.tradeBatch)
  @HttpCode(200)
  @ApiOperation({ summary: 'Several trades forwarded together by the front end (leader only), each handled as GET /trade' })
  @ApiOkResponse({ description: 'one result per trade, in order, as GET /trade would have answered it', type: TradeBatchResponseDto })
  @ApiFailures('order', {
    400: `${Failure.invalid}: epoch, and trades must hold 1–128 well-formed trades (none is placed)`,
    401: Failure.token,
    413: Failure.tooLarge,
  })
  async tradeBatch(@Body() dto: ReplicaTradeBatchDto, @RequestId() requestId: string): Promise<TradeBatchResponse> {
    return { results: await this.trades.tradeBatch(dto, requestId) };
  }

  /** `GET /query?order_no=N` → `{"data":{…}}` or 404 `{"error":{…}}`. */
  @Get(OrderRoutes.query)
  @ApiOperation({ summary: 'Look up a committed order' })
  @ApiOkResponse({ description: 'the order', type: OrderQueryResponseDto })
  @ApiFailures('error', {
    400: 'a malformed order_no',
    404: 'no order with this number in this replica\'s log (`order not found`)',
  })
  async query(@Query() q: OrderQueryDto): Promise<OrderQueryResponse> {
    return { data: await this.trades.lookup(q.order_no) };
  }
}
