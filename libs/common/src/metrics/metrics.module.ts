import { Controller, DynamicModule, Get, Global, Header, Injectable, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { FinishedRequest, RequestObserver } from '../http/request-observer';

/** Seconds; fine at the low end, where a cached lookup lives. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Latency of every HTTP request by method, route and status. The route is the matched route's
 * pattern (`/stocks`), never the raw path, so a scan of random URLs cannot blow up the number of
 * series: everything unmatched is `unmatched`.
 */
@Injectable()
export class HttpMetrics implements RequestObserver {
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  /** The histogram's child per label set: prom-client hashes the labels on every observe otherwise. */
  private readonly series = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>();

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, matched route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** Records an answered request (see observeRequests, installed first by bootstrapServer, so body-parser failures count too). */
  finished({ req, res, seconds, aborted }: FinishedRequest): void {
    if (aborted) return;
    // Nest answers unknown paths from a catch-all route (`{/*splat}`): that is "unmatched" too.
    const path = req.route?.path;
    const route = typeof path === 'string' && !path.includes('*') ? path : 'unmatched';
    // Bounded: methods are the few Node's parser accepts, routes the app's own, statuses three digits.
    const key = `${req.method} ${route} ${res.statusCode}`;
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = this.duration.labels(req.method ?? '', route, String(res.statusCode))));
    series.observe(seconds);
  }
}

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  /** Prometheus text exposition of this process's metrics. */
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * `GET /metrics` in Prometheus format (prom-client) with the process's default metrics, request
 * latency per route, and whatever the app registers on the injected {@link Registry}. Each app
 * has its own registry (labelled `app`), so tests can build several apps in one process.
 */
@Global()
@Module({})
export class MetricsModule {
  static forApp(app: string): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [MetricsController],
      providers: [
        {
          provide: Registry,
          useFactory: () => {
            const registry = new Registry();
            registry.setDefaultLabels({ app });
            // Event-loop delay sampled every 100 ms, not prom-client's 10 ms: a timer that wakes
            // every process of the bazaar 100 times a second costs the cluster's tail latency.
            collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
            return registry;
          },
        },
        HttpMetrics,
      ],
      exports: [Registry, HttpMetrics],
    };
  }
}
