import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { join, resolve } from 'node:path';
import { OrderEnv, OrderRoutes, validateEnv } from '@app/contracts';
import { CommonHttpModule, internalHttpModule, sqliteOptions, SqlitePragmas } from '@app/common';
import { ClusterStateService } from './cluster/cluster-state.service';
import { PeersClient } from './cluster/peers.client';
import { FaultInjector } from './faults/fault-injector.service';
import { OrderMetrics } from './metrics/order.metrics';
import { HealthController } from './health/health.controller';
import { RecoveryHealthIndicator } from './health/recovery.health';
import { ORDER_MIGRATIONS } from './migrations';
import { Order } from './orders/order.entity';
import { DiskHealthService } from './orders/disk-health.service';
import { OrderLogService } from './orders/order-log.service';
import { OrdersController } from './orders/orders.controller';
import { ReplicaMeta } from './orders/replica-meta.entity';
import { TradeService } from './orders/trade.service';
import { CatchUpService } from './recovery/catch-up.service';
import { RecoveryService } from './recovery/recovery.service';
import { LeadershipService } from './replication/leadership.service';
import { ReconcilerService } from './replication/reconciler.service';
import { ReplicationController } from './replication/replication.controller';
import { ReplicatorService } from './replication/replicator.service';
import { SyncService } from './replication/sync.service';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: (env) => validateEnv(OrderEnv, env) }),
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<OrderEnv, true>) => {
        const id = config.get('ORDER_ID', { infer: true });
        const dir = resolve(config.get('DATA_DIR', { infer: true }));
        // A corrupt file is one line naming it, with the way to rebuild this replica from its peers.
        const rebuild =
          `to rebuild replica ${id} from its peers, delete (or move aside) ${join(dir, `order-${id}.sqlite`)}* and start it again: ` +
          'it copies every order from the other replicas before it is ready';
        return sqliteOptions(dir, `order-${id}.sqlite`, ORDER_MIGRATIONS, rebuild);
      },
    }),
    TypeOrmModule.forFeature([Order, ReplicaMeta]),
    TerminusModule.forRoot({ logger: false, errorLogStyle: 'pretty' }),
    internalHttpModule(),
    CommonHttpModule.forRoot({
      [`GET /${OrderRoutes.trade}`]: 'order',
      [`POST /${OrderRoutes.tradeBatch}`]: 'order',
      [`POST /${OrderRoutes.sync}`]: 'message',
      [`GET /${OrderRoutes.leader}`]: 'message',
    }),
  ],
  controllers: [OrdersController, ReplicationController, HealthController],
  providers: [
    SqlitePragmas,
    DiskHealthService,
    OrderLogService,
    ClusterStateService,
    PeersClient,
    FaultInjector,
    CatchUpService,
    RecoveryService,
    ReplicatorService,
    ReconcilerService,
    SyncService,
    LeadershipService,
    TradeService,
    RecoveryHealthIndicator,
    OrderMetrics,
  ],
})
export class OrderModule {}
