import { bootstrapServer } from '@app/common';
import { FrontendEnv } from '@app/contracts';

/**
 * How long the public API keeps an idle keep-alive connection: longer than the idle timeout of the
 * proxies and load balancers put in front of such a service (60 s for nginx's upstream connections
 * and for cloud load balancers), so that one never sends a request on a connection the front end
 * is closing (the keep-alive race: a reset, which a proxy answers 502 for a POST). At node's 5 s,
 * a client or proxy that keeps idle connections longer meets that race whenever it reuses one just
 * as the front end closes it. The services' own calls to each other follow each server's
 * `Keep-Alive` hint.
 */
const PUBLIC_KEEP_ALIVE_TIMEOUT_MS = 65_000;

void bootstrapServer({
  name: 'frontend',
  description: 'The public API: cached stock lookups; trades and order lookups forwarded to the order leader',
  env: FrontendEnv,
  loadModule: async () => (await import('./frontend.module')).FrontendModule,
  port: (config) => config.get('FRONTEND_PORT', { infer: true }),
  keepAliveTimeoutMs: PUBLIC_KEEP_ALIVE_TIMEOUT_MS,
});
