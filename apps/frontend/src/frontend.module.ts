import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { FrontendEnv, FrontendRoutes, validateEnv } from '@app/contracts';
import { CommonHttpModule } from '@app/common';
import { HealthModule } from './health/health.module';
import { LeaderModule } from './leader/leader.module';
import { FrontendMetricsModule } from './metrics/frontend-metrics.module';
import { settleIdempotencyKey } from './orders/idempotency-key';
import { OrdersModule } from './orders/orders.module';
import { RateLimitModule } from './rate-limit/rate-limit';
import { StatusModule } from './status/status.module';
import { StocksModule } from './stocks/stocks.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: (env) => validateEnv(FrontendEnv, env) }),
    ScheduleModule.forRoot(),
    RateLimitModule,
    CommonHttpModule.forRoot(
      { [`POST /${FrontendRoutes.orders}`]: 'order' },
      // Every trade answer carries its key, also a 400 for JSON that does not parse, a 413 or a 429.
      { [`POST /${FrontendRoutes.orders}`]: settleIdempotencyKey },
    ),
    StocksModule,
    LeaderModule,
    OrdersModule,
    FrontendMetricsModule,
    StatusModule,
    HealthModule,
  ],
})
export class FrontendModule {}
