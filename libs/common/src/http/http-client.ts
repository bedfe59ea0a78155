import { HttpModule } from '@nestjs/axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * Internal hops reuse connections: without keep-alive every trade would open four TCP
 * connections. Statuses are never thrown on, callers branch on them.
 */
export function internalHttpModule(timeoutMs = 5000) {
  return HttpModule.register({
    timeout: timeoutMs,
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
    validateStatus: () => true,
    maxRedirects: 0,
    // A transport error (refused, reset, timeout) still rejects.
    transitional: { clarifyTimeoutError: true },
  });
}
