import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import {
  CatalogQueryResponse,
  CatalogRoutes,
  CatalogTradeBatchDto,
  CatalogTradeDto,
  CatalogTradesPage,
  MessageResponse,
  PageQueryDto,
  StockListResponse,
  StockLookupQueryDto,
  TradeBatchResponse,
} from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import {
  CatalogQueryResponseDto,
  CatalogTradesPageDto,
  MessageResponseDto,
  StockListResponseDto,
  TradeBatchResponseDto,
} from '@app/contracts/dto/responses.dto';
import { Internal, RequestId } from '@app/common';
import { StocksService } from './stocks.service';
import { TradeRetentionService } from './trade-retention.service';

@ApiTags('catalog (internal)')
@ApiExtraModels(CatalogQueryResponseDto, StockListResponseDto)
@Internal()
@Controller()
export class StocksController {
  constructor(
    private readonly stocks: StocksService,
    private readonly retention: TradeRetentionService,
  ) {}

  /** `GET /query?stock_name=S` → `{"data":{…}}` or 404 `{"error":{…}}`; without a name, `{"data":[…]}` (every stock). */
  @Get(CatalogRoutes.query)
  @ApiOperation({ summary: 'Look up a stock (seed form), or list every stock sorted by name when no stock_name is given' })
  @ApiOkResponse({
    description: '`{"data":{…}}` for a name, `{"data":[…]}` without one',
    schema: { oneOf: [{ $ref: getSchemaPath(CatalogQueryResponseDto) }, { $ref: getSchemaPath(StockListResponseDto) }] },
  })
  @ApiFailures('error', { 400: 'a malformed stock_name', 404: 'no such stock (`Stock not found`)' })
  async query(@Query() q: StockLookupQueryDto): Promise<CatalogQueryResponse | StockListResponse> {
    if (q.stock_name === undefined) return { data: await this.stocks.list() };
    return { data: await this.stocks.lookup(q.stock_name) };
  }

  /** `POST /trade` → `{"message":…}` with 200, 404 or 409 (plus `reason`). */
  @Post(CatalogRoutes.trade)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Buy or sell (seed form); a repeated request_id answers its first outcome without trading again',
    description: 'A request_id is bound to its trade: reused for another stock, side (any letter case is the same side) or quantity, it gets 422 with code `key_reused` and nothing is traded.',
  })
  @ApiOkResponse({ description: '`order had been trade successfully!`', type: MessageResponseDto })
  @ApiFailures('message', {
    400: `${Failure.invalid}: stock_name, type (buy or sell), quantity or request_id`,
    401: Failure.token,
    404: '`Stock not found!`',
    409: '`Trade failed!`, with `reason`: `not enough shares` (a buy) or `over capacity` (a sell)',
    413: Failure.tooLarge,
    415: Failure.unsupported,
    422: '`Idempotency-Key … was used for a different request`, code `key_reused`: the request_id named another trade; nothing is traded',
  })
  async trade(@Body() dto: CatalogTradeDto, @RequestId() requestId: string): Promise<MessageResponse> {
    return { message: (await this.stocks.trade(dto, requestId)).message };
  }

  /**
   * `POST /trade/batch` `{"trades":[…]}` → `{"results":[{"status","message","reason"?},…]}`: each trade as
   * `POST /trade` would have answered it, decided in order (the order leader's group commit).
   */
  @Post(CatalogRoutes.tradeBatch)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Several trades decided in order in one transaction (the order leader\'s group commit)',
    description: 'Each result is what `POST /trade` would have answered for that trade; a malformed trade refuses the whole batch.',
  })
  @ApiOkResponse({ description: 'one result per trade, in order', type: TradeBatchResponseDto })
  @ApiFailures('message', {
    400: `${Failure.invalid}: trades must hold 1–128 well-formed trades (none is traded)`,
    401: Failure.token,
    413: Failure.tooLarge,
    415: Failure.unsupported,
  })
  async tradeBatch(@Body() dto: CatalogTradeBatchDto, @RequestId() requestId: string): Promise<TradeBatchResponse> {
    return { results: await this.stocks.tradeBatch(dto.trades, requestId) };
  }

  /** `GET /trades?after=N&limit=K`: applied trades in catalog order, for order-log reconciliation. */
  @Get(CatalogRoutes.trades)
  @ApiOperation({
    summary: 'Applied trades after a sequence number, oldest first (order-log reconciliation)',
    description: '`after` also tells the catalog that every trade up to it is in the order log: the idempotency-key cleanup forgets only records up to it.',
  })
  @ApiOkResponse({ description: 'a page of applied trades', type: CatalogTradesPageDto })
  @ApiFailures('error', { 400: 'a malformed after or limit' })
  async trades(@Query() page: PageQueryDto): Promise<CatalogTradesPage> {
    // The order leader lists from its reconciled point: everything up to `after` has its order.
    this.retention.noteReconciled(page.after);
    return { trades: await this.stocks.appliedTrades(page.after, page.limit) };
  }
}
