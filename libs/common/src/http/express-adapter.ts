import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
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
  override initHttpServer(options: NestApplicationOptions): void {
    if (options.httpsOptions || options.forceCloseConnections || options.return503OnClosing) {
      super.initHttpServer(options);
      return;
    }
    const app = this.getInstance<Express>();
    this.setHttpServer(
      createServer(
        {
          IncomingMessage: withPrototype(IncomingMessage, app.request),
          ServerResponse: withPrototype(ServerResponse, app.response),
        },
        app,
      ),
    );
  }
}
