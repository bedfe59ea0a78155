import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Logger, type NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';

/**
 * A constructor for node's `base` (IncomingMessage or ServerResponse) whose instances have
 * `prototype` as their prototype from the start: node's own way of subclassing these
 * (`FunctionPrototypeCall(OutgoingMessage, this, …)`), not a class, because `prototype` must be
 * that exact object.
 */
function withPrototype<T>(base: T, prototype: object): T {
  const init = base as unknown as (this: object, ...args: unknown[]) => void;
  function Constructed(this: object, ...args: unknown[]): void {
    init.call(this, ...args);
  }
  Constructed.prototype = prototype;
  return Constructed as unknown as T;
}

/**
 * platform-express, with requests and responses born with Express's prototypes.
 *
 * Express 5 re-prototypes every request and response it handles
 * (`Object.setPrototypeOf(req, app.request)` in `app.handle`). V8 handles a prototype change on a
 * live object badly: under load a bare Express or NestJS app spent about a tenth of its time in
 * young-generation GC, with scavenges of 5–20 ms, against well under 1 ms without the change. Node's
 * HTTP server takes the classes it constructs requests and responses with as options; given
 * classes whose prototypes already are `app.request` and `app.response`, Express's call changes
 * nothing (setting an object's prototype to the one it has is a no-op), and everything else — the
 * methods Express adds, `instanceof IncomingMessage` — is as before.
 *
 * Only the plain-HTTP server without Nest's `forceCloseConnections` / `return503OnClosing` is
 * replaced (the bazaar uses neither); any of those options falls back to Nest's own server.
 */
export class BazaarExpressAdapter extends ExpressAdapter {
  constructor(private readonly limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    if (options.httpsOptions || options.forceCloseConnections || options.return503OnClosing) {
      super.initHttpServer(options);
      return;
    }
    const app = this.getInstance<Express>();
    const server = createServer(
      {
        IncomingMessage: withPrototype(IncomingMessage, app.request),
        ServerResponse: withPrototype(ServerResponse, app.response),
        headersTimeout: this.limits.headersTimeoutMs,
        requestTimeout: this.limits.requestTimeoutMs,
        // How often node looks for requests past those timeouts (30 s by default).
        connectionsCheckingInterval: Math.min(1000, this.limits.headersTimeoutMs),
      },
      app,
    );
    if (this.limits.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    limitConnectionsPerClient(server, this.limits.perClient);
    this.setHttpServer(server);
  }
}

/**
 * What one client may hold of a server, so that it cannot deny the others (slowloris: thousands
 * of connections, each sending its request a byte at a time, held a front end at its open-file
 * limit, and every other client was refused).
 */
export interface ConnectionLimits {
  /** Most connections open at once from one address; 0: no limit. */
  perClient: number;
  /** A request's headers must have come in full within this long of its first byte (node: 60 s). */
  headersTimeoutMs: number;
  /** The whole request, body included, within this long (node: 300 s). Its answer may take longer. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open (node: 5 s, when unset). */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { perClient: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

/** How often a refused client is logged again, at most. */
const REFUSED_LOG_MS = 60_000;

/**
 * Closes at once a connection from an address that already holds `perClient` of them; says so
 * (at warn, at most once a minute). Behind a proxy every client shares its address: raise the
 * limit there, or set 0.
 */
export function limitConnectionsPerClient(server: Server, perClient: number, logger = new Logger('Connections')): void {
  if (perClient <= 0) return;
  const open = new Map<string, number>();
  let loggedAt = -Infinity;
  let refusedSince = 0;
  // A refused socket never reaches node's own HTTP handling (no parser is made for it, nothing is
  // tracked for its timeouts): node's listener is called from here, for the sockets taken only.
  const httpListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= perClient) {
      refusedSince++;
      if (performance.now() - loggedAt >= REFUSED_LOG_MS) {
        logger.warn(`${address} holds ${count} connections, the most one client may (MAX_CONNECTIONS_PER_CLIENT): refused ${refusedSince} new one(s)`);
        loggedAt = performance.now();
        refusedSince = 0;
      }
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
    for (const listener of httpListeners) listener.call(server, socket);
  });
}
