import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { DERIVED_REQUEST_ID_PREFIX, IDEMPOTENCY_KEY_HEADER, isClientKey } from '@app/contracts';

/** The response header that echoes a trade's idempotency key. */
export const IDEMPOTENCY_KEY_RESPONSE_HEADER = 'Idempotency-Key';

/** A request whose idempotency key has been settled by {@link settleIdempotencyKey}; null: the client's is malformed. */
type KeyedRequest = IncomingMessage & { idempotencyKey?: string | null };

/**
 * The idempotency key of a trade: the client's `Idempotency-Key`, or a new one made here when it
 * sent none; undefined when the client's is malformed, or starts with the prefix reserved for the
 * ids the order leader derives ({@link DERIVED_REQUEST_ID_PREFIX}): the handler refuses it with 400. The key
 * is echoed in the `Idempotency-Key` response header at once, so that every answer carries it —
 * 200, 404, 409, 422, 503 — and a client can retry an uncertain trade with it. A malformed key is
 * not echoed. Idempotent: the first call settles the key, later ones return it.
 */
export function settleIdempotencyKey(req: KeyedRequest, res: ServerResponse): string | undefined {
  if (req.idempotencyKey !== undefined) return req.idempotencyKey ?? undefined;
  const raw = req.headers[IDEMPOTENCY_KEY_HEADER];
  const sent = Array.isArray(raw) ? raw.join(', ') : raw;
  if (sent !== undefined && !isClientKey(sent)) {
    req.idempotencyKey = null;
    return undefined;
  }
  const key = (req.idempotencyKey = sent ?? randomUUID());
  if (!res.headersSent) res.setHeader(IDEMPOTENCY_KEY_RESPONSE_HEADER, key);
  return key;
}

/**
 * Handler parameter: the trade's idempotency key ({@link settleIdempotencyKey}). Nest extracts
 * every parameter of a handler before any of them goes through its pipes, so the key is settled,
 * and echoed, even when the body then fails validation (a 400 carries it too).
 *
 * A parameter decorator rather than an interceptor: one interceptor on a route has Nest wrap every
 * request in rxjs (a ReplaySubject, deferred Observables, two async resources), which was a
 * quarter of the front end's allocations per trade. Read here rather than with
 * `@Headers('idempotency-key')`, which Swagger would list as a second, required header parameter
 * beside the documented optional one.
 */
export const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): string | undefined =>
  settleIdempotencyKey(ctx.switchToHttp().getRequest<KeyedRequest>(), ctx.switchToHttp().getResponse<ServerResponse>()),
);
