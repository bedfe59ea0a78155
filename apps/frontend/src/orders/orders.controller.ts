import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  DERIVED_REQUEST_ID_PREFIX,
  FrontendRoutes,
  MAX_TRADE_QUANTITY,
  OrderPlacedResponse,
  OrderQueryDto,
  OrderQueryResponse,
  PlaceOrderDto,
} from '@app/contracts';
import { ApiFailures, Failure, IDEMPOTENCY_KEY_RESPONSE_DOC } from '@app/contracts/dto/api-docs';
import { OrderPlacedResponseDto, OrderQueryResponseDto } from '@app/contracts/dto/responses.dto';
import { InvalidInput, RequestId } from '@app/common';
import { RateLimited } from '../rate-limit/rate-limit';
import { IdempotencyKey } from './idempotency-key';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@RateLimited()
@Controller(FrontendRoutes.orders)
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /**
   * `POST /orders` `{"stock_name","trade_type","quantity"}` → `{"order_no":N}`; failures are
   * `{"order_no":-1,"message":…}` with 400, 404, 409 (plus `reason`) or 503.
   */
  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Buy or sell shares of a stock',
    description:
      'Forwarded to the order leader, which trades at the catalog and acknowledges once the order is durable on a ' +
      'majority of replicas. A failover is retried with the same idempotency key, so the catalog moves at most once. ' +
      'Every answer carries the key used in an `Idempotency-Key` response header. A key is bound to its request ' +
      '(stock_name, trade_type in any letter case, quantity) for IDEMPOTENCY_RETENTION_MS (24 h by default): reused ' +
      'for another trade, it gets 422 and nothing is traded.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: `same key, same outcome; the catalog moves at most once (1–128 printable characters, no spaces, not starting with ${DERIVED_REQUEST_ID_PREFIX}). ` +
      'Without one the front end makes its own; either way the answer echoes it in its Idempotency-Key header.',
  })
  @ApiOkResponse({ description: 'the order is placed and durable', type: OrderPlacedResponseDto, headers: IDEMPOTENCY_KEY_RESPONSE_DOC })
  @ApiFailures('order', {
    400: `${Failure.invalid}: stock_name, trade_type (buy or sell), quantity (1–${MAX_TRADE_QUANTITY}) or Idempotency-Key`,
    404: 'no such stock (`Stock not found!`)',
    409: '`Trade failed!`, with `reason`: `not enough shares` (a buy) or `over capacity` (a sell)',
    413: Failure.tooLarge,
    415: Failure.unsupported,
    422: '`Idempotency-Key … was used for a different request`: the key names another trade (inside its retention); nothing is traded',
    429: Failure.rateLimited,
    503: 'no order replica can take the trade now (or make it durable in time); retry with the same Idempotency-Key (the one in the answer\'s header)',
  }, IDEMPOTENCY_KEY_RESPONSE_DOC)
  async place(
    @Body() dto: PlaceOrderDto,
    @RequestId() requestId: string,
    @IdempotencyKey() key?: string,
  ): Promise<OrderPlacedResponse> {
    if (key === undefined) throw new InvalidInput(`Idempotency-Key must be 1–128 printable characters without spaces, not starting with ${DERIVED_REQUEST_ID_PREFIX}`);
    return { order_no: await this.orders.place(dto, key, requestId) };
  }

  /** `GET /orders?order_no=N` → `{"data":{…}}` or 404 `{"error":{"code":404,"message":"order not found"}}`. */
  @Get()
  @ApiOperation({
    summary: 'Look up an acknowledged order',
    description: 'From a replica that can vouch for it: the leader, or any replica whose commit point covers it. Only committed orders are given; 404 only on the word of a settled leader.',
  })
  @ApiOkResponse({ description: 'the order as placed', type: OrderQueryResponseDto })
  @ApiFailures('error', {
    400: 'a malformed order_no (a positive integer)',
    404: 'no order with this number (`order not found`), as a settled leader says',
    429: Failure.rateLimited,
    503: 'no order replica can be reached, or none could vouch for the order within FORWARD_TIMEOUT_MS (a leader change under way, a majority down); retry',
  })
  async lookup(@Query() q: OrderQueryDto, @RequestId() requestId: string): Promise<OrderQueryResponse> {
    return { data: await this.orders.lookup(q.order_no, requestId) };
  }
}
