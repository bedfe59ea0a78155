import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { internalHttpModule } from '@app/common';
import { CacheInvalidationService } from '../invalidation/cache-invalidation.service';
import { CatalogMeta } from '../lease/catalog-meta.entity';
import { LeaseController } from '../lease/lease.controller';
import { LeaseSpanStore } from '../lease/lease-span.store';
import { LeaseService } from '../lease/lease.service';
import { CatalogMetrics } from '../metrics/catalog.metrics';
import { Stock } from './stock.entity';
import { StocksController } from './stocks.controller';
import { StocksService } from './stocks.service';
import { TradeRecord } from './trade-record.entity';
import { TradeRetentionService } from './trade-retention.service';

@Module({
  imports: [TypeOrmModule.forFeature([Stock, TradeRecord, CatalogMeta]), internalHttpModule()],
  controllers: [StocksController, LeaseController],
  providers: [StocksService, CacheInvalidationService, LeaseService, LeaseSpanStore, CatalogMetrics, TradeRetentionService],
})
export class StocksModule {}
