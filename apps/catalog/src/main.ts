import { bootstrapServer } from '@app/common';
import { CatalogEnv } from '@app/contracts';

void bootstrapServer({
  name: 'catalog',
  description: 'Stocks in SQLite; trades; cache invalidation pushed to the front end',
  env: CatalogEnv,
  loadModule: async () => (await import('./catalog.module')).CatalogModule,
  port: (config) => config.get('CATALOG_PORT', { infer: true }),
});
