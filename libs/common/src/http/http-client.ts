import { HttpModule } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { CLUSTER_TOKEN_HEADER, CommonEnv } from '@app/contracts';

/**
 * The HTTP client for hops between the bazaar's own services:
 * - keep-alive, since without it every trade would open four TCP connections;
 * - the cluster token on every request (when `CLUSTER_TOKEN` is set);
 * - callers pass the request's id on ({@link requestIdHeaders}), so one trade's log lines can be
 *   followed across services;
 * - statuses are never thrown on, callers branch on them;
 * - never through a proxy named in the environment (`HTTP_PROXY`): these hops stay on the
 *   cluster's own addresses.
 *
 * Callers use `HttpService.axiosRef`, the configured axios instance, with promises. The
 * Observable wrapper costs about 80 µs of CPU per request on this machine, mostly because
 * unsubscribing after the answer cancels the finished request, which builds a `CanceledError`
 * with its stack trace (a micro-benchmark against a bare node server: 320–440 µs of CPU per
 * request through `firstValueFrom(http.get(…))`, 240–340 through `axiosRef.get(…)`).
 */
@Module({})
export class InternalHttpModule {
  static register(timeoutMs = 5000): DynamicModule {
    const http = HttpModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<CommonEnv, true>) => {
        const token = config.get('CLUSTER_TOKEN', { infer: true });
        return {
          timeout: timeoutMs,
          headers: token ? { [CLUSTER_TOKEN_HEADER]: token } : {},
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
          validateStatus: () => true,
          maxRedirects: 0,
          proxy: false,
          // A transport error (refused, reset, timeout) still rejects.
          transitional: { clarifyTimeoutError: true },
        };
      },
    });
    return { module: InternalHttpModule, imports: [http], exports: [http] };
  }
}

/** Shorthand for {@link InternalHttpModule.register}. */
export function internalHttpModule(timeoutMs = 5000): DynamicModule {
  return InternalHttpModule.register(timeoutMs);
}
