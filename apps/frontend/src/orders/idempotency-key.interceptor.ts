import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Observable } from 'rxjs';
import { IDEMPOTENCY_KEY_HEADER, REQUEST_ID_PATTERN } from '@app/contracts';

/** The response header that echoes a trade's idempotency key. */
export const IDEMPOTENCY_KEY_RESPONSE_HEADER = 'Idempotency-Key';

/** A request whose idempotency key has been settled by {@link IdempotencyKeyInterceptor}. */
export type KeyedRequest = IncomingMessage & { idempotencyKey?: string; idempotencyKeyMalformed?: boolean };

/**
 * Settles the idempotency key of a trade before anything else looks at the request: the client's
 * `Idempotency-Key`, or a new one made here when it sent none. The key is echoed in the
 * `Idempotency-Key` response header at once, so that every answer carries it — 200, 404, 409, 422,
 * 503, and a 400 for the body too — and a client can retry an uncertain trade with it.
 * A malformed key is not echoed (the handler refuses it with 400).
 */
@Injectable()
export class IdempotencyKeyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<KeyedRequest>();
    const raw = req.headers[IDEMPOTENCY_KEY_HEADER];
    const sent = Array.isArray(raw) ? raw.join(', ') : raw;
    if (sent !== undefined && !REQUEST_ID_PATTERN.test(sent)) {
      req.idempotencyKeyMalformed = true;
    } else {
      req.idempotencyKey = sent ?? randomUUID();
      http.getResponse<ServerResponse>().setHeader(IDEMPOTENCY_KEY_RESPONSE_HEADER, req.idempotencyKey);
    }
    return next.handle();
  }
}
