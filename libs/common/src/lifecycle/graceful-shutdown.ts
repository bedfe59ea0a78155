import { INestApplication, Injectable, Logger, LoggerService, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { CommonEnv } from '@app/contracts';
import type { FinishedRequest, RequestObserver } from '../http/request-observer';

/** Time the Nest hooks (workers, schedulers, the DataSource) get after the drain before exit(1). */
const HOOKS_GRACE_MS = 10_000;

/**
 * Tracks the HTTP server's requests so that shutdown can stop taking new ones and wait for those
 * in flight.
 *
 * Why not rely on `app.close()` alone: Nest 12 runs `onModuleDestroy` → `beforeApplicationShutdown`
 * → closes the HTTP server (`dispose`) → `onApplicationShutdown`. So the replicator (stopped in
 * `onModuleDestroy`) and `@nestjs/schedule`'s intervals (cleared in `beforeApplicationShutdown`)
 * stop while requests are still being served — a trade in flight on a leader would be refused
 * after the catalog traded — and `server.close()` waits without bound for keep-alive clients.
 * {@link enableGracefulShutdown} therefore drains first, then calls `app.close()`.
 */
@Injectable()
export class HttpDrain implements OnApplicationBootstrap, RequestObserver {
  private readonly logger = new Logger(HttpDrain.name);
  private readonly inflight = new Set<ServerResponse>();
  private server?: Server;
  private draining?: Promise<void>;
  private readonly stop = new AbortController();

  constructor(private readonly host: HttpAdapterHost) {
    // Every lookup that waits to ask again listens to it: no leak warning for more than 10.
    setMaxListeners(0, this.stop.signal);
  }

  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /**
   * Aborted when the drain begins. A request that would only wait to try again (a lookup asking a
   * catalog that is down) stops waiting and is answered at once: a client with another front end
   * asks that one, and the drain is not held for a retry loop.
   */
  get stopping(): AbortSignal {
    return this.stop.signal;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  onApplicationBootstrap(): void {
    this.server = this.host.httpAdapter?.getHttpServer() as Server | undefined;
  }

  /**
   * Reported first for every request (see observeRequests): a request that arrives on a
   * kept-alive socket during the drain is still served, but its socket is closed after the response.
   */
  started(_req: IncomingMessage, res: ServerResponse): void {
    this.inflight.add(res);
    if (this.draining) res.setHeader('Connection', 'close');
  }

  finished({ res }: FinishedRequest): void {
    this.inflight.delete(res);
  }

  /**
   * Stops accepting connections, lets every request in flight finish (each answered with
   * `Connection: close`), closes idle keep-alive sockets at once, and after `timeoutMs` closes
   * whatever is still open. Resolves when no connection is left. Idempotent.
   */
  drain(timeoutMs: number): Promise<void> {
    if (!this.draining) {
      this.draining = this.run(timeoutMs);
      this.stop.abort();
    }
    return this.draining;
  }

  private async run(timeoutMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const res of this.inflight) if (!res.headersSent) res.setHeader('Connection', 'close');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.inflight.size > 0) this.logger.log(`draining ${this.inflight.size} request(s) in flight`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    // A socket may turn idle after its last response (kept alive by a client that ignored "close").
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    try {
      if (await Promise.race([closed.then(() => false), timedOut])) {
        this.logger.warn(`${this.inflight.size} request(s) still open after ${timeoutMs} ms: closing their connections`);
        server.closeAllConnections();
        await closed;
      }
    } finally {
      clearTimeout(timer);
      clearInterval(sweep);
    }
  }
}

/**
 * SIGTERM/SIGINT/SIGHUP handling for a server app (replaces `app.enableShutdownHooks()`): drain the HTTP
 * server (bounded by `SHUTDOWN_TIMEOUT_MS`), then `app.close()` — background workers, schedulers
 * and the TypeORM DataSource stop in Nest's hooks once nothing is in flight; SQLite checkpoints
 * its WAL as the connection closes — then exit 0. If the hooks hang, exit 1 after a grace period.
 */
export function enableGracefulShutdown(app: INestApplication, logger: LoggerService, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP']): void {
  const drain = app.get(HttpDrain);
  const timeoutMs = app.get<ConfigService<CommonEnv, true>>(ConfigService).get('SHUTDOWN_TIMEOUT_MS', { infer: true });
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) return; // one shutdown; the hard deadline below bounds it
    started = true;
    logger.log(`${signal}: draining HTTP (up to ${timeoutMs} ms), then stopping`, 'Shutdown');
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${timeoutMs + HOOKS_GRACE_MS} ms: exiting`, undefined, 'Shutdown');
      process.exit(1);
    }, timeoutMs + HOOKS_GRACE_MS).unref();
    void (async () => {
      try {
        await drain.drain(timeoutMs);
        await app.close();
        logger.log('stopped', 'Shutdown');
        process.exit(0);
      } catch (err) {
        logger.error(`shutdown failed: ${(err as Error).stack ?? String(err)}`, undefined, 'Shutdown');
        process.exit(1);
      }
    })();
  };
  for (const s of signals) process.on(s, onSignal);
}
