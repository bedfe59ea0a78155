import { Module } from '@nestjs/common';
import { LeaderModule } from '../leader/leader.module';
import { StocksModule } from '../stocks/stocks.module';
import { FrontendMetrics } from './frontend.metrics';

@Module({
  imports: [StocksModule, LeaderModule],
  providers: [FrontendMetrics],
})
export class FrontendMetricsModule {}
