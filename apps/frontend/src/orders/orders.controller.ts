import { Body, Controller, createParamDecorator, ExecutionContext, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  FrontendRoutes,
  IDEMPOTENCY_KEY_HEADER,
  MAX_TRADE_QUANTITY,
  OrderPlacedResponse,
  OrderQueryDto,
  OrderQueryResponse,
  PlaceOrderDto,
  REQUEST_ID_PATTERN,
} from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { OrderPlacedResponseDto, OrderQueryResponseDto } from '@app/contracts/dto/responses.dto';
import { InvalidInput, RequestId } from '@app/common';
import { RateLimited } from '../rate-limit/rate-limit';
import { OrdersService } from './orders.service';

/**
 * The `Idempotency-Key` request header (undefined without one). Read here rather than with
 * `@Headers('idempotency-key')`, which Swagger would list as a second, required header parameter
 * beside the documented optional one.
 */
const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getRequest<IncomingMessage>().headers[IDEMPOTENCY_KEY_HEADER];
  return Array.isArray(value) ? value.join(', ') : value;
});

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
      'majority of replicas. A failover is retried with the same idempotency key, so the catalog moves at most once.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'same key, same outcome; the catalog moves at most once (1–128 printable characters, no spaces). ' +
      'Without one the front end makes its own.',
  })
  @ApiOkResponse({ description: 'the order is placed and durable', type: OrderPlacedResponseDto })
  @ApiFailures('order', {
    400: `${Failure.invalid}: stock_name, trade_type (buy or sell), quantity (1–${MAX_TRADE_QUANTITY}) or Idempotency-Key`,
    404: 'no such stock (`Stock not found!`)',
    409: '`Trade failed!`, with `reason`: `not enough shares` (a buy) or `over capacity` (a sell)',
    413: Failure.tooLarge,
    429: Failure.rateLimited,
    503: 'no order replica can take the trade now (or make it durable in time); retry with the same Idempotency-Key',
  })
  async place(
    @Body() dto: PlaceOrderDto,
    @RequestId() requestId: string,
    @IdempotencyKey() key?: string,
  ): Promise<OrderPlacedResponse> {
    if (key !== undefined && !REQUEST_ID_PATTERN.test(key)) {
      throw new InvalidInput('Idempotency-Key must be 1–128 printable characters without spaces');
    }
    return { order_no: await this.orders.place(dto, key ?? randomUUID(), requestId) };
  }

  /** `GET /orders?order_no=N` → `{"data":{…}}` or 404 `{"error":{"code":404,"message":"order not found"}}`. */
  @Get()
  @ApiOperation({ summary: 'Look up an acknowledged order', description: 'From the leader, or any live replica that has it.' })
  @ApiOkResponse({ description: 'the order as placed', type: OrderQueryResponseDto })
  @ApiFailures('error', {
    400: 'a malformed order_no (a positive integer)',
    404: 'no order with this number (`order not found`)',
    429: Failure.rateLimited,
    503: 'no order replica can be reached',
  })
  async lookup(@Query() q: OrderQueryDto, @RequestId() requestId: string): Promise<OrderQueryResponse> {
    return { data: await this.orders.lookup(q.order_no, requestId) };
  }
}
