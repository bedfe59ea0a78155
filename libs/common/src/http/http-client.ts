import { HttpModule, HttpService } from '@nestjs/axios';
import { DynamicModule, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import { Agent as HttpAgent, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { CLUSTER_TOKEN_HEADER, CommonEnv } from '@app/contracts';
import { HopClient } from './hop-client';

/**
 * Idle keep-alive connections are closed by the client before the server closes them: the agent
 * takes the server's `Keep-Alive: timeout=N` hint (a second early) only when it has a timeout of
 * its own, and without one it would reuse a connection the server is closing at that moment.
 */
const AGENT_IDLE_TIMEOUT_MS = 60_000;
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type RetriableConfig = InternalAxiosRequestConfig & { keepAliveRaceRetried?: boolean };

/**
 * Sends an idempotent request (GET) once more, on a fresh connection, when the reused keep-alive
 * connection it went out on was reset before any answer: the server closed the idle connection
 * as the request left (node's documented keep-alive race). Any other failure is the caller's:
 * a POST may have been handled before the reset.
 */
export function retryKeepAliveRace(instance: AxiosInstance): void {
  instance.interceptors.response.use(undefined, (err: AxiosError) => {
    const config = err.config as RetriableConfig | undefined;
    const request = err.request as ClientRequest | undefined;
    const method = (config?.method ?? 'get').toUpperCase();
    if (!config || config.keepAliveRaceRetried || err.code !== 'ECONNRESET' || !request?.reusedSocket || !IDEMPOTENT_METHODS.has(method)) {
      return Promise.reject(err);
    }
    config.keepAliveRaceRetried = true;
    return instance.request(config);
  });
}

@Injectable()
class KeepAliveRaceRetry implements OnModuleInit {
  constructor(private readonly http: HttpService) {}

  onModuleInit(): void {
    retryKeepAliveRace(this.http.axiosRef);
  }
}

/**
 * The HTTP clients for hops between the bazaar's own services: {@link HopClient} for the trade
 * path's hops, and axios (`HttpService`) for the control plane, configured here:
 * - keep-alive, since without it every trade would open four TCP connections; an idle connection
 *   is let go a second before the server would close it, and a GET that still meets that race is
 *   sent once more ({@link retryKeepAliveRace});
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
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256, timeout: AGENT_IDLE_TIMEOUT_MS }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256, timeout: AGENT_IDLE_TIMEOUT_MS }),
          validateStatus: () => true,
          maxRedirects: 0,
          proxy: false,
          // A transport error (refused, reset, timeout) still rejects.
          transitional: { clarifyTimeoutError: true },
        };
      },
    });
    return { module: InternalHttpModule, imports: [http], providers: [KeepAliveRaceRetry, HopClient], exports: [http, HopClient] };
  }
}

/** Shorthand for {@link InternalHttpModule.register}. */
export function internalHttpModule(timeoutMs = 5000): DynamicModule {
  return InternalHttpModule.register(timeoutMs);
}
