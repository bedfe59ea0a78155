import { Module } from '@nestjs/common';
import { internalHttpModule } from '@app/common';
import { LeaderModule } from '../leader/leader.module';
import { StocksModule } from '../stocks/stocks.module';
import { CatalogHealthClient } from './catalog-health.client';
import { StatusController } from './status.controller';
import { StatusService } from './status.service';

/** `GET /status` (a page) and `GET /status.json`: the cluster as this front end sees it. */
@Module({
  imports: [internalHttpModule(), LeaderModule, StocksModule],
  controllers: [StatusController],
  providers: [CatalogHealthClient, StatusService],
})
export class StatusModule {}
