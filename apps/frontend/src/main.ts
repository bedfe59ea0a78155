import { bootstrapServer } from '@app/common';
import { FrontendEnv } from '@app/contracts';

void bootstrapServer({
  name: 'frontend',
  description: 'The public API: cached stock lookups; trades and order lookups forwarded to the order leader',
  env: FrontendEnv,
  loadModule: async () => (await import('./frontend.module')).FrontendModule,
  port: (config) => config.get('FRONTEND_PORT', { infer: true }),
});
