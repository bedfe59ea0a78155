import type { IncomingMessage, ServerResponse } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER, REQUEST_ID_PATTERN } from '@app/contracts';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

type IdentifiedRequest = IncomingMessage & { id?: string | number | object };

/**
 * The id of an incoming request: the caller's `x-request-id` when it is a sane one (so an id
 * travels across the hops of one trade), else a new UUID. Idempotent: the log middleware and the
 * context middleware both ask, whichever runs first decides. Echoed in the response header.
 */
export function assignRequestId(req: IdentifiedRequest, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  req.id = id;
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** Express middleware: runs the rest of the request inside its context (see {@link currentRequestId}). */
export function requestContextMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  storage.run({ requestId: assignRequestId(req, res) }, next);
}

/** The id of the request being served, if any (outgoing internal requests carry it). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/**
 * Runs `fn` outside any request's context: for background work a request merely started (a
 * replication pump serves many trades, so it should not carry the first one's id).
 */
export function detachedFromRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}
