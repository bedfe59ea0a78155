import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { MAX_BODY_BYTES } from '@app/contracts';
import { DomainError } from '../errors';

/**
 * The seed's three failure shapes:
 * - `error`: `{"error":{"code":404,"message":"Stock not found"}}` (lookups, and the default)
 * - `order`: `{"order_no":-1,"message":"Trade failed!"}` (placing an order)
 * - `message`: `{"message":"Trade failed!"}` (the catalog's `/trade`)
 * A replica's 503 also carries `code` (see ReplicaRefusal) so the front end can tell refusals apart.
 */
export type ErrorShape = 'error' | 'order' | 'message';

interface Failure {
  status: number;
  message: string;
  code?: string;
}

/** Turns anything thrown into a status and a one-line message; unknown errors become a logged 500. */
export function describeFailure(exception: unknown, logger: Logger): Failure {
  if (exception instanceof DomainError) {
    return { status: exception.status, message: exception.message, code: exception.code };
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

/** A one-line message for a body-parser error (malformed or oversized JSON), if it is one. */
function bodyParserMessage(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | undefined)?.type;
  if (type === 'entity.parse.failed') return 'request body is not valid JSON';
  if (type === 'entity.too.large') return `request body is too large (at most ${MAX_BODY_BYTES} bytes)`;
  return undefined;
}

export function shapeFailure(shape: ErrorShape, f: Failure): Record<string, unknown> {
  const extra = f.code ? { code: f.code } : {};
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
  const route = path.split(/[?#]/)[0].replace(/\/+$/, '').toLowerCase() || '/';
  const key = `${method.toUpperCase()} ${route}`;
  for (const [k, shape] of Object.entries(shapes)) if (k.toUpperCase() === key.toUpperCase()) return shape;
  return 'error';
}

/**
 * The one global exception filter: maps every exception to a status and the seed's shape for
 * that route. It is keyed by method and path rather than set per handler because some failures
 * (malformed JSON, oversized bodies) happen in the body parser, before any handler is chosen.
 */
@Catch()
export class ShapedErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ShapedErrorFilter.name);

  constructor(private readonly shapes: ErrorShapes = {}) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const failure = describeFailure(exception, this.logger);
    if (res.headersSent) return;
    const shape = shapeOf(this.shapes, req.method, req.path);
    res.status(failure.status).json(shapeFailure(shape, failure));
  }
}
