import { Injectable, Logger } from '@nestjs/common';
import {
  CatalogMessages,
  OrderInfo,
  ReplicaRefusal,
  ReplicaTradeDto,
} from '@app/contracts';
import { InvalidInput, OrderNotFound, StockNotFound, TradeRefused, Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderMetrics } from '../metrics/order.metrics';
import { LeadershipService } from '../replication/leadership.service';
import { ReplicatorService } from '../replication/replicator.service';
import { OrderLogService, toInfo } from './order-log.service';

/**
 * The leader's trade path, exactly once per request id:
 * 1. a request id already in the log is a retry: answer its number once it is durable;
 * 2. refuse fast (503) if too few replicas are reachable to make the order durable;
 * 3. trade at the catalog with the request id (a retry after a crash gets the recorded outcome
 *    instead of trading twice);
 * 4. append the order with the next number, replicate it, and acknowledge once durable.
 */
@Injectable()
export class TradeService {
  private readonly logger = new Logger(TradeService.name);

  constructor(
    private readonly log: OrderLogService,
    private readonly state: ClusterStateService,
    private readonly leadership: LeadershipService,
    private readonly replicator: ReplicatorService,
    private readonly peers: PeersClient,
    private readonly faults: FaultInjector,
    private readonly metrics: OrderMetrics,
  ) {}

  async trade(dto: ReplicaTradeDto): Promise<number> {
    await this.leadership.assertLeading(dto.epoch);
    const previous = await this.log.findByRequestId(dto.request_id);
    if (previous) {
      await this.replicator.waitDurable(previous.order_no);
      return previous.order_no;
    }
    await this.replicator.ensureQuorum();
    await this.tradeAtCatalog(dto);
    this.faults.reached('after-catalog-trade');
    const { record } = await this.state.appendAsLeader(dto.epoch, {
      request_id: dto.request_id,
      stock_name: dto.stock_name,
      trade_type: dto.trade_type,
      quantity: dto.quantity,
    });
    this.faults.reached('after-local-commit');
    this.replicator.kick();
    await this.replicator.waitDurable(record.order_no);
    this.metrics.ordersPlaced.inc();
    return record.order_no;
  }

  async lookup(orderNo: number): Promise<OrderInfo> {
    const record = await this.log.find(orderNo);
    if (!record) throw new OrderNotFound();
    return toInfo(record);
  }

  private async tradeAtCatalog(dto: ReplicaTradeDto): Promise<void> {
    let status: number;
    let message: string | undefined;
    try {
      const res = await this.peers.catalogTrade({
        stock_name: dto.stock_name,
        type: dto.trade_type,
        quantity: dto.quantity,
        request_id: dto.request_id,
      });
      status = res.status;
      message = res.data?.message;
    } catch (err) {
      // The catalog may or may not have traded: the front end retries with the same request id.
      throw new Unavailable(`catalog unreachable: ${(err as Error).message}`, ReplicaRefusal.catalogUnavailable);
    }
    switch (status) {
      case 200:
        return;
      case 404:
        throw new StockNotFound(CatalogMessages.stockNotFound);
      case 409:
        throw new TradeRefused(CatalogMessages.tradeFailed);
      case 400:
        throw new InvalidInput(message ?? 'invalid trade');
      default:
        throw new Unavailable(`catalog answered ${status}${message ? `: ${message}` : ''}`, ReplicaRefusal.catalogUnavailable);
    }
  }
}

