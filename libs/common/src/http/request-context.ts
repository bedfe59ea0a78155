import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER, REQUEST_ID_PATTERN } from '@app/contracts';

type IdentifiedRequest = IncomingMessage & { id?: string | number | object };

/**
 * The id of an incoming request: the caller's `x-request-id` when it is a sane one (so an id
 * travels across the hops of one trade), else a new UUID. Idempotent: whoever asks first
 * decides. Echoed in the response header; kept on `req.id` for {@link RequestId}.
 */
export function assignRequestId(req: IdentifiedRequest, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  req.id = id;
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * Handler parameter: the id of the request being served (see {@link assignRequestId}). Handlers
 * whose work crosses a hop hand it on explicitly, down to the internal HTTP client
 * ({@link requestIdHeaders}), so one trade's log lines can be followed across services.
 *
 * Explicit rather than an AsyncLocalStorage context: on Node 20 such a context installs promise
 * hooks that tax every promise in the process, which cost a cached lookup about a tenth of its
 * throughput; and where batches are formed, which request's id a shared hop carries is a
 * choice the code should make visibly (the first item's).
 */
export const RequestId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string =>
  assignRequestId(ctx.switchToHttp().getRequest<IdentifiedRequest>(), ctx.switchToHttp().getResponse<ServerResponse>()),
);

/** Axios `headers` carrying a request id to the next hop (none for background work). */
export function requestIdHeaders(requestId: string | undefined): Record<string, string> | undefined {
  return requestId === undefined ? undefined : { [REQUEST_ID_HEADER]: requestId };
}
