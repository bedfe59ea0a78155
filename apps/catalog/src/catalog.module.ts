import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogEnv, CatalogRoutes, validateEnv } from '@app/contracts';
import { CommonHttpModule, sqliteOptions, SqlitePragmas } from '@app/common';
import { HealthModule } from './health/health.module';
import { CATALOG_MIGRATIONS } from './migrations';
import { StocksModule } from './stocks/stocks.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: (env) => validateEnv(CatalogEnv, env) }),
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<CatalogEnv, true>) =>
        sqliteOptions(config.get('DATA_DIR', { infer: true }), 'catalog.sqlite', CATALOG_MIGRATIONS),
    }),
    CommonHttpModule.forRoot({ [`POST /${CatalogRoutes.trade}`]: 'message', [`POST /${CatalogRoutes.tradeBatch}`]: 'message' }),
    StocksModule,
    HealthModule,
  ],
  providers: [SqlitePragmas],
})
export class CatalogModule {}
