import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES, type BatchItemResult } from '@app/contracts';
import { DomainError } from '../errors';
import { noteFailure } from './request-observer';

/**
 * The seed's three failure shapes:
 * - `error`: `{"error":{"code":404,"message":"Stock not found"}}` (lookups, and the default)
 * - `order`: `{"order_no":-1,"message":"Trade failed!"}` (placing an order)
 * - `message`: `{"message":"Trade failed!"}` (the catalog's `/trade`)
 * A replica's 503 also carries `code` (see ReplicaRefusal) so the front end can tell refusals apart,
 * and a refused trade (409) carries `reason` (see TradeRefusalReason) beside the seed's message.
 */
export type ErrorShape = 'error' | 'order' | 'message';

export interface Failure {
  status: number;
  message: string;
  code?: string;
  /** Why, beside the message (a refused trade's TradeRefusalReason). */
  reason?: string;
}

const REASON = Symbol('reason');

/**
 * Gives a domain error the `reason` its answer carries beside its message — a refused trade's
 * `"not enough shares"` — and returns it: `throw withReason(new TradeRefused(), reason)`.
 */
export function withReason<E extends DomainError>(error: E, reason: string): E {
  (error as E & { [REASON]?: string })[REASON] = reason;
  return error;
}

/** The reason given by {@link withReason}, if any. */
export function reasonOf(error: DomainError): string | undefined {
  return (error as DomainError & { [REASON]?: string })[REASON];
}

/**
 * For an item of an internal batch (see batchResults): a failure that has a reason (a refused
 * trade) becomes its result with the reason; anything else is rethrown, for batchResults to
 * describe. `item.then(ok, resultWithReason)`.
 */
export function resultWithReason(error: unknown): BatchItemResult {
  const reason = error instanceof DomainError ? reasonOf(error) : undefined;
  if (!reason || !(error instanceof DomainError)) throw error;
  return { status: error.status, message: error.message, ...(error.code ? { code: error.code } : {}), reason };
}

/** Turns anything thrown into a status and a one-line message; unknown errors become a logged 500. */
export function describeFailure(exception: unknown, logger: Logger): Failure {
  if (exception instanceof DomainError) {
    const reason = reasonOf(exception);
    return { status: exception.status, message: exception.message, code: exception.code, ...(reason ? { reason } : {}) };
  }
  if (exception instanceof HttpException) {
    // Nest wraps body-parser failures in an HttpException whose cause says what went wrong.
    const parserMessage = bodyParserMessage(exception.cause);
    if (parserMessage) return { status: exception.getStatus(), message: parserMessage };
    const body = exception.getResponse();
    let message = exception.message;
    if (typeof body === 'object' && body !== null && 'message' in body) {
      const m = (body as { message: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : String(m);
    }
    return { status: exception.getStatus(), message };
  }
  // body-parser errors (malformed JSON, oversized or mis-encoded bodies) carry their own 4xx status.
  const e = exception as { status?: unknown; type?: unknown; message?: unknown };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, message: bodyParserMessage(e) ?? String(e.message ?? 'bad request') };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return { status: 500, message: 'internal error' };
}

/**
 * A one-line message for a body-parser error (malformed or oversized JSON, a body that does not
 * decompress), if it is one.
 */
function bodyParserMessage(error: unknown): string | undefined {
  const e = error as { type?: unknown; body?: unknown; code?: unknown; message?: unknown } | undefined;
  if (e?.type === 'entity.parse.failed') return isJson(e.body) ? 'request body must be a JSON object' : 'request body is not valid JSON';
  if (e?.type === 'entity.too.large') return `request body is too large (at most ${MAX_BODY_BYTES} bytes)`;
  // zlib's (Z_DATA_ERROR…) and brotli's (ERR__ERROR_FORMAT_…) failures, whose own text says little.
  if (typeof e?.code === 'string' && /^(Z_|ERR__ERROR_)/.test(e.code)) return `request body could not be decompressed as its Content-Encoding says (${String(e.message)})`;
  return undefined;
}

/** Whether `body` (the raw text body-parser kept) is JSON, though not what its strict mode takes: `null`, `1`, `"x"`. */
function isJson(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

export function shapeFailure(shape: ErrorShape, f: Failure): Record<string, unknown> {
  const extra = { ...(f.reason ? { reason: f.reason } : {}), ...(f.code ? { code: f.code } : {}) };
  switch (shape) {
    case 'order':
      return { order_no: -1, message: f.message, ...extra };
    case 'message':
      return { message: f.message, ...extra };
    default:
      return { error: { code: f.status, message: f.message }, ...extra };
  }
}

/** Routes whose contract uses a failure shape other than `error`, keyed `METHOD /path`. */
export type ErrorShapes = Record<string, ErrorShape>;

/**
 * The failure shape of a request. Express routes match case-insensitively and ignore a trailing
 * slash (`POST /Orders/` is `POST /orders`), so the lookup does too.
 */
export function shapeOf(shapes: ErrorShapes, method: string, path: string): ErrorShape {
  return byRoute(shapes, method, path) ?? 'error';
}

/** The entry of `map` (keyed `METHOD /path`) for a request, matched as Express matches routes (see {@link shapeOf}). */
function byRoute<T>(map: Record<string, T>, method: string, path: string): T | undefined {
  const route = path.split(/[?#]/)[0].replace(/\/+$/, '').toLowerCase() || '/';
  const key = `${method.toUpperCase()} ${route}`;
  for (const [k, value] of Object.entries(map)) if (k.toUpperCase() === key.toUpperCase()) return value;
  return undefined;
}

/**
 * Per route (keyed `METHOD /path`, matched as {@link shapeOf} matches), what every failure's answer
 * on it adds before it is sent, whatever failed: the front end's trades echo their idempotency key,
 * also when the body parser or a guard refused the request before its handler ran.
 */
export type FailureHooks = Record<string, (req: IncomingMessage, res: ServerResponse) => void>;

/**
 * The shape of a 405 on a path: that of the path's own routes when one of them answers in a
 * shape other than `error` (a `PUT /orders` meant `POST /orders`: the order shape), else `error`.
 */
export function shapeOfPath(shapes: ErrorShapes, allowed: string[], path: string): ErrorShape {
  return allowed.map((m) => shapeOf(shapes, m, path)).find((s) => s !== 'error') ?? 'error';
}

/** The parts of an Express 5 router (`router` 2.x) read by {@link allowedMethods}. */
interface RouterStack {
  stack?: { route?: { path?: unknown; methods?: Record<string, boolean> }; matchers?: ((path: string) => unknown)[] }[];
}

/**
 * The methods the app's routes answer on `path` (upper case, `HEAD` with `GET`), from the Express
 * router itself — the same matchers, so the same case-insensitivity and trailing-slash rules —
 * and not from a list kept by hand. Catch-all routes (`*path`) and middleware are not routes of
 * a path. Empty when no route matches.
 */
export function allowedMethods(router: RouterStack | undefined, path: string): string[] {
  const methods = new Set<string>();
  for (const layer of router?.stack ?? []) {
    const route = layer.route;
    if (!route || typeof route.path !== 'string' || route.path.includes('*') || !route.methods) continue;
    let matched = false;
    try {
      matched = (layer.matchers ?? []).some((match) => match(path) !== false);
    } catch {
      // A malformed %-escape in a parameter: not this route.
    }
    if (!matched) continue;
    if (route.methods._all) return []; // answers every method: nothing to refuse
    for (const [m, on] of Object.entries(route.methods)) if (on) methods.add(m.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/**
 * The one global exception filter: maps every exception to a status and the seed's shape for
 * that route. It is keyed by method and path rather than set per handler because some failures
 * (malformed JSON, oversized bodies) happen in the body parser, before any handler is chosen.
 *
 * A request that matched no route, on a path that has routes for other methods, gets 405 with
 * `Allow` instead of Nest's 404 (Nest's not-found handler runs as middleware after every route:
 * such a request has no `req.route`).
 */
@Catch()
export class ShapedErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ShapedErrorFilter.name);

  constructor(
    private readonly shapes: ErrorShapes = {},
    private readonly hooks: FailureHooks = {},
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    let failure = describeFailure(exception, this.logger);
    if (res.headersSent) return;
    let shape = shapeOf(this.shapes, req.method, req.path);
    if (exception instanceof NotFoundException && !req.route) {
      const allowed = allowedMethods((req.app as { router?: RouterStack } | undefined)?.router, req.path);
      if (allowed.length > 0) {
        failure = { status: 405, message: `${req.method} is not allowed on ${req.path} (allowed: ${allowed.join(', ')})` };
        shape = shapeOfPath(this.shapes, allowed, req.path);
        res.setHeader('Allow', allowed.join(', '));
      }
    }
    byRoute(this.hooks, req.method, req.path)?.(req, res);
    noteFailure(res, failure);
    res.status(failure.status).json(shapeFailure(shape, failure));
  }
}
