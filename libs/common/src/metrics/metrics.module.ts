import { Controller, DynamicModule, Get, Global, Header, Injectable, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Seconds; fine at the low end, where a cached lookup lives. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Latency of every HTTP request by method, route and status. The route is the matched route's
 * pattern (`/stocks`), never the raw path, so a scan of random URLs cannot blow up the number of
 * series: everything unmatched is `unmatched`.
 */
@Injectable()
export class HttpMetrics {
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, matched route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** Express middleware (installed first by bootstrapServer, so it also times body-parser failures). */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const end = this.duration.startTimer();
    res.once('finish', () => {
      // Nest answers unknown paths from a catch-all route (`{/*splat}`): that is "unmatched" too.
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const known = typeof route === 'string' && !route.includes('*');
      end({ method: req.method, route: known ? route : 'unmatched', status: String(res.statusCode) });
    });
    next();
  };
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
