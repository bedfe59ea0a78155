import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  OrderEnv,
  OrderPlacedResponse,
  OrderQueryDto,
  OrderQueryResponse,
  OrderRoutes,
  ReplicaRefusal,
  ReplicaTradeBatchDto,
  ReplicaTradeDto,
  TradeBatchResponse,
} from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { OrderPlacedResponseDto, OrderQueryResponseDto, TradeBatchResponseDto } from '@app/contracts/dto/responses.dto';
import { Internal, OrderNotFound, RequestId, Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { ReplicatorService } from '../replication/replicator.service';
import { RecoveryService } from '../recovery/recovery.service';
import { lookupVerdict, OrderLogService, toInfo } from './order-log.service';
import { TradeService } from './trade.service';

@ApiTags('orders (internal)')
@Internal()
@Controller()
export class OrdersController {
  private readonly ackByLeaderAlone: boolean;

  constructor(
    private readonly trades: TradeService,
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly replicator: ReplicatorService,
    private readonly recovery: RecoveryService,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.ackByLeaderAlone = config.get('ORDER_ACK_MODE', { infer: true }) === 'leader';
  }

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
    return { order_no: (await this.trades.trade(dto, requestId)).order_no };
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
    415: Failure.unsupported,
  })
  async tradeBatch(@Body() dto: ReplicaTradeBatchDto, @RequestId() requestId: string): Promise<TradeBatchResponse> {
    return { results: await this.trades.tradeBatch(dto, requestId) };
  }

  /**
   * `GET /query?order_no=N` → `{"data":{…}}`, 404 `{"error":{…}}`, or 503 with code
   * `not_committed` when this replica cannot vouch for N yet (see {@link lookupVerdict}): an order
   * is given only once committed, and only a settled leader that a majority still follows says
   * that one does not exist.
   */
  @Get(OrderRoutes.query)
  @ApiOperation({ summary: 'Look up a committed order' })
  @ApiOkResponse({ description: 'the order', type: OrderQueryResponseDto })
  @ApiFailures('error', {
    400: 'a malformed order_no',
    404: 'no order with this number: only a settled leader answers it, for a number beyond its last order, once a majority confirms that it still leads (`order not found`)',
    503: 'refused with code `not_committed`: the number is above this replica\'s commit point (or it is a leader still promoting, or one that a majority no longer confirms), so it cannot vouch for the order yet; ask the leader, or again',
  })
  async query(@Query() q: OrderQueryDto): Promise<OrderQueryResponse> {
    const status = this.state.status();
    if (this.recovery.logDamaged) {
      throw new Unavailable(`replica ${status.id} cannot vouch for order ${q.order_no}: its log is damaged (${this.recovery.blockedBy ?? 'see /health'})`, ReplicaRefusal.notCommitted);
    }
    const verdict = lookupVerdict(q.order_no, {
      role: status.role,
      commitNo: status.commit_no,
      lastNo: status.last_no,
      durableNo: this.log.durableLastNo(),
      ackByLeaderAlone: this.ackByLeaderAlone,
    });
    // A leader cut off from its followers keeps its role until it hears of a newer epoch, whose
    // leader may have acknowledged this number meanwhile: it says "none" only once a majority
    // confirms that it still leads, after this lookup arrived (Raft's read index).
    if (verdict === 'absent') {
      if (await this.replicator.confirmLeading()) throw new OrderNotFound();
      throw new Unavailable(
        `replica ${status.id} cannot vouch that order ${q.order_no} does not exist: a majority did not confirm that it still leads`,
        ReplicaRefusal.notCommitted,
      );
    }
    const record = verdict === 'serve' ? await this.log.find(q.order_no) : null;
    if (!record) {
      throw new Unavailable(
        `replica ${status.id} cannot vouch for order ${q.order_no} yet (${status.role}, commit point ${status.commit_no}, last order ${status.last_no})`,
        ReplicaRefusal.notCommitted,
      );
    }
    return { data: toInfo(record) };
  }
}
