import { ConfigService } from '@nestjs/config';
import { OrderEnv, OrderRecordDto, ReplicaRole, ReplicaStatus, validateEnv } from '@app/contracts';
import { logEntry } from '@app/testkit/fixtures';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { ReplicatorService } from '../replication/replicator.service';
import { RecoveryService } from '../recovery/recovery.service';
import { OrderLogService } from './order-log.service';
import { OrdersController } from './orders.controller';
import { TradeService } from './trade.service';

/** Replica 3's `GET /query`, its log holding orders 1–2 (both committed); whether a majority confirms its leadership is scripted. */
function controller(role: ReplicaRole, confirms: boolean, logDamaged = false) {
  const entries: OrderRecordDto[] = [logEntry(1), logEntry(2)];
  const status: ReplicaStatus = { id: 3, role, ready: true, epoch: 1, leader: 3, last_no: 2, last_epoch: 1, commit_no: 2 };
  const state = { status: () => status } as unknown as ClusterStateService;
  const log = { durableLastNo: () => 2, find: async (n: number) => entries[n - 1] ?? null } as unknown as OrderLogService;
  let asked = 0;
  const replicator = {
    confirmLeading: async () => {
      asked++;
      return confirms;
    },
  } as unknown as ReplicatorService;
  const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '3' })) as unknown as ConfigService<OrderEnv, true>;
  const recovery = { logDamaged, blockedBy: logDamaged ? 'its log differs from replica 2\'s below its commit point' : undefined } as unknown as RecoveryService;
  return { orders: new OrdersController({} as TradeService, state, log, replicator, recovery, config), asked: () => asked };
}

describe('OrdersController.query (GET /query: an order lookup at a replica)', () => {
  it('a leader a majority still follows says that a number beyond its log does not exist (404)', async () => {
    const { orders, asked } = controller('leader', true);
    await expect(orders.query({ order_no: 3 })).rejects.toMatchObject({ status: 404, message: 'order not found' });
    expect(asked()).toBe(1);
  });

  it('a leader cut off from its followers (a newer leader may have acknowledged the number) answers 503 not_committed, not 404', async () => {
    const { orders } = controller('leader', false);
    await expect(orders.query({ order_no: 3 })).rejects.toMatchObject({ status: 503, code: 'not_committed' });
  });

  it('serves a committed order without asking the followers', async () => {
    const { orders, asked } = controller('leader', false);
    await expect(orders.query({ order_no: 2 })).resolves.toEqual({ data: { order_no: 2, stock_name: 'Stock1', trade_type: 'buy', quantity: 2 } });
    expect(asked()).toBe(0);
  });

  it('a replica whose recovery found its log damaged serves no order, committed or not (503 not_committed)', async () => {
    const { orders } = controller('recovering', true, true);
    await expect(orders.query({ order_no: 2 })).rejects.toMatchObject({ status: 503, code: 'not_committed' });
    await expect(orders.query({ order_no: 2 })).rejects.toThrow(/its log is damaged/);
  });

  it('a follower never says that an order does not exist, and asks nobody', async () => {
    const { orders, asked } = controller('follower', true);
    await expect(orders.query({ order_no: 3 })).rejects.toMatchObject({ status: 503, code: 'not_committed' });
    expect(asked()).toBe(0);
  });
});
