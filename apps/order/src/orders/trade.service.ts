import { Injectable, Logger } from '@nestjs/common';
import {
  BatchItemResult,
  CatalogMessages,
  OrderInfo,
  ReplicaRefusal,
  ReplicaTradeBatchDto,
  ReplicaTradeDto,
} from '@app/contracts';
import {
  batchResults,
  InvalidInput,
  OrderNotFound,
  resultWithReason,
  StockNotFound,
  TradeRefused,
  Unavailable,
  withReason,
} from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderMetrics } from '../metrics/order.metrics';
import { LeadershipService } from '../replication/leadership.service';
import { ReplicatorService } from '../replication/replicator.service';
import { OrderLogService, toInfo } from './order-log.service';

/**
 * The leader's trade path, exactly once per request id:
 * 1. refuse fast (503) if too few replicas are reachable to make the order durable;
 * 2. trade at the catalog with the request id (a retry gets the recorded outcome instead of
 *    trading twice);
 * 3. append the order with the next number — or, for a request id already in the log (a retry),
 *    take its entry — replicate it, and acknowledge once durable.
 * Concurrent trades share the hops: one catalog request and one log transaction per batch
 * (see {@link PeersClient.catalogTrade} and {@link ClusterStateService.appendAsLeader}).
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

  /** `requestId`: the HTTP request's, carried to the catalog. */
  async trade(dto: ReplicaTradeDto, requestId?: string): Promise<number> {
    await this.leadership.assertLeading(dto.epoch);
    await this.replicator.ensureQuorum();
    await this.tradeAtCatalog(dto, requestId);
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

  /** Trades forwarded together by the front end: each handled as {@link trade} would, one result each. */
  tradeBatch(batch: ReplicaTradeBatchDto, requestId?: string): Promise<BatchItemResult[]> {
    return batchResults(
      batch.trades.map((t) =>
        this.trade({ ...t, epoch: batch.epoch }, requestId).then((order_no): BatchItemResult => ({ status: 200, order_no }), resultWithReason),
      ),
      (result) => result,
    );
  }

  async lookup(orderNo: number): Promise<OrderInfo> {
    const record = await this.log.find(orderNo);
    if (!record) throw new OrderNotFound();
    return toInfo(record);
  }

  private async tradeAtCatalog(dto: ReplicaTradeDto, requestId: string | undefined): Promise<void> {
    let status: number;
    let message: string | undefined;
    let reason: string | undefined;
    try {
      ({ status, message, reason } = await this.peers.catalogTrade({
        stock_name: dto.stock_name,
        type: dto.trade_type,
        quantity: dto.quantity,
        request_id: dto.request_id,
      }, requestId));
    } catch (err) {
      // The catalog may or may not have traded: the front end retries with the same request id.
      throw new Unavailable(`catalog unreachable: ${(err as Error).message}`, ReplicaRefusal.catalogUnavailable);
    }
    switch (status) {
      case 200:
        return;
      case 404:
        throw new StockNotFound(CatalogMessages.stockNotFound);
      case 409: {
        // The catalog's reason travels on to the front end (none from a catalog that predates reasons).
        const refused = new TradeRefused(CatalogMessages.tradeFailed);
        throw reason ? withReason(refused, reason) : refused;
      }
      case 400:
        throw new InvalidInput(message ?? 'invalid trade');
      default:
        throw new Unavailable(`catalog answered ${status}${message ? `: ${message}` : ''}`, ReplicaRefusal.catalogUnavailable);
    }
  }
}

