import { Body, Controller, Get, Headers, HttpCode, Post, Query } from '@nestjs/common';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import {
  FrontendRoutes,
  IDEMPOTENCY_KEY_HEADER,
  OrderPlacedResponse,
  OrderQueryDto,
  OrderQueryResponse,
  PlaceOrderDto,
  REQUEST_ID_PATTERN,
} from '@app/contracts';
import { InvalidInput, RequestId } from '@app/common';
import { RateLimited } from '../rate-limit/rate-limit';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@RateLimited()
@Controller(FrontendRoutes.orders)
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /**
   * `POST /orders` `{"stock_name","trade_type","quantity"}` → `{"order_no":N}`; failures are
   * `{"order_no":-1,"message":…}` with 400, 404, 409 or 503.
   */
  @Post()
  @HttpCode(200)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'same key, same outcome; the catalog moves at most once' })
  async place(
    @Body() dto: PlaceOrderDto,
    @RequestId() requestId: string,
    @Headers(IDEMPOTENCY_KEY_HEADER) key?: string,
  ): Promise<OrderPlacedResponse> {
    if (key !== undefined && !REQUEST_ID_PATTERN.test(key)) {
      throw new InvalidInput('Idempotency-Key must be 1–128 printable characters without spaces');
    }
    return { order_no: await this.orders.place(dto, key ?? randomUUID(), requestId) };
  }

  /** `GET /orders?order_no=N` → `{"data":{…}}` or 404 `{"error":{"code":404,"message":"order not found"}}`. */
  @Get()
  async lookup(@Query() q: OrderQueryDto, @RequestId() requestId: string): Promise<OrderQueryResponse> {
    return { data: await this.orders.lookup(q.order_no, requestId) };
  }
}
