import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { internalHttpModule } from '@app/common';
import { CacheInvalidationService } from '../invalidation/cache-invalidation.service';
import { CatalogMetrics } from '../metrics/catalog.metrics';
import { Stock } from './stock.entity';
import { StocksController } from './stocks.controller';
import { StocksService } from './stocks.service';
import { TradeRecord } from './trade-record.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Stock, TradeRecord]), internalHttpModule()],
  controllers: [StocksController],
  providers: [StocksService, CacheInvalidationService, CatalogMetrics],
})
export class StocksModule {}
