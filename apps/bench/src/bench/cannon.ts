import autocannon from 'autocannon';
import { LatencyStats, type LatencySummary } from '@app/loadgen';
import { Interrupted } from '../common/lifecycle';

/** What to send: one fixed request, or a request built before each send. */
export interface Target {
  url: string;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** A fixed body… */
  body?: string;
  /** …or one made for request n (0, 1, 2… across all connections). */
  bodyFor?: (n: number) => string;
}

export interface Measurement {
  connections: number;
  /** Seconds actually measured (from the first request to the end of the run). */
  duration_s: number;
  /** Responses received (any status). */
  responses: number;
  requests_per_s: number;
  /**
   * Latency of every response, measured by autocannon per request (float milliseconds) and
   * recorded here at microsecond resolution: autocannon's own histogram keeps whole milliseconds,
   * too coarse for sub-millisecond paths.
   */
  latency_ms: LatencySummary;
  /** autocannon's own figures, for comparison (whole milliseconds, 2xx only). */
  autocannon: { latency_p50_ms: number; latency_p99_ms: number; requests_per_s_average: number };
  status_codes: Record<string, number>;
  non_2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
}

export interface CannonOptions {
  connections: number;
  durationS: number;
  signal: AbortSignal;
  /** Per-request timeout in seconds (default 10). */
  timeoutS?: number;
}

/**
 * One autocannon run at fixed concurrency (no pipelining: one request in flight per connection,
 * keep-alive). Aborting the signal stops it and rejects with {@link Interrupted}.
 */
export function cannon(target: Target, options: CannonOptions): Promise<Measurement> {
  if (options.signal.aborted) return Promise.reject(new Interrupted());
  const stats = new LatencyStats();
  let counter = 0;
  const bodyFor = target.bodyFor;
  const request: autocannon.Request = {
    method: target.method ?? 'GET',
    path: target.path,
    headers: target.headers,
    body: target.body,
    ...(bodyFor ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: bodyFor(counter++) }) } : {}),
  };

  return new Promise<Measurement>((resolve, reject) => {
    const startNs = process.hrtime.bigint();
    const onAbort = (): void => instance.stop();
    const instance = autocannon(
      {
        url: target.url,
        connections: options.connections,
        duration: options.durationS,
        pipelining: 1,
        timeout: options.timeoutS ?? 10,
        requests: [request],
      },
      (err, result) => {
        options.signal.removeEventListener('abort', onAbort);
        if (options.signal.aborted) return reject(new Interrupted());
        if (err) return reject(err);
        const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
        const responses = stats.count;
        const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, v]) => [code, v.count]));
        resolve({
          connections: options.connections,
          duration_s: Math.round(elapsedS * 1000) / 1000,
          responses,
          requests_per_s: Math.round((responses / elapsedS) * 10) / 10,
          latency_ms: stats.summary(),
          autocannon: {
            latency_p50_ms: result.latency.p50,
            latency_p99_ms: result.latency.p99,
            requests_per_s_average: result.requests.average,
          },
          status_codes: statusCodes,
          non_2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => stats.recordMillis(responseTimeMs));
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
