import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LruCacheModule } from '@app/cache';
import { FrontendEnv, StockInfo } from '@app/contracts';
import { internalHttpModule } from '@app/common';
import { CacheInvalidationController } from '../cache-invalidation/cache-invalidation.controller';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient } from './catalog.client';
import { StocksController } from './stocks.controller';
import { StocksService } from './stocks.service';

@Module({
  imports: [
    internalHttpModule(),
    LruCacheModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<FrontendEnv, true>) => ({
        enabled: config.get('CACHE_ENABLED', { infer: true }),
        capacity: config.get('CACHE_CAPACITY', { infer: true }),
        // Entries are served only under the catalog's lease (LeaseService).
        leased: true,
        // A stock's trade volume grows with each of its trades: what lets a trade's answer be cached.
        stampOf: (stock: StockInfo) => stock.trade_volume,
      }),
    }),
  ],
  controllers: [StocksController, CacheInvalidationController],
  providers: [CatalogClient, StocksService, LeaseService],
  exports: [LruCacheModule, StocksService],
})
export class StocksModule {}
