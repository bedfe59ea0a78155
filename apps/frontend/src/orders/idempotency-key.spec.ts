import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { DERIVED_REQUEST_ID_PREFIX } from '@app/contracts';
import { IDEMPOTENCY_KEY_RESPONSE_HEADER, settleIdempotencyKey } from './idempotency-key';

/** A real request and response pair, unconnected, with the given `Idempotency-Key` header(s). */
function exchange(key?: string | string[]): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  if (key !== undefined) req.headers['idempotency-key'] = key as string;
  return { req, res: new ServerResponse(req) };
}

describe('settleIdempotencyKey', () => {
  it("keeps the client's key and echoes it", () => {
    const { req, res } = exchange('trade-42');
    expect(settleIdempotencyKey(req, res)).toBe('trade-42');
    expect(res.getHeader(IDEMPOTENCY_KEY_RESPONSE_HEADER)).toBe('trade-42');
  });

  it('makes up a key when the client sent none, once per request', () => {
    const { req, res } = exchange();
    const key = settleIdempotencyKey(req, res);
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.getHeader(IDEMPOTENCY_KEY_RESPONSE_HEADER)).toBe(key);
    // Asked again (another parameter, a filter), the same request keeps the same key.
    expect(settleIdempotencyKey(req, res)).toBe(key);
    const other = exchange();
    expect(settleIdempotencyKey(other.req, other.res)).not.toBe(key);
  });

  it('refuses a malformed key (undefined), does not echo it, and does not make one up on a second call', () => {
    // A key starting with the prefix of the ids the order leader derives (reserved) counts as malformed.
    for (const bad of ['has spaces', '', 'x'.repeat(129), 'tab\there', ['a', 'b'], `${DERIVED_REQUEST_ID_PREFIX}${'a'.repeat(64)}`]) {
      const { req, res } = exchange(bad);
      expect(settleIdempotencyKey(req, res)).toBeUndefined();
      expect(settleIdempotencyKey(req, res)).toBeUndefined();
      expect(res.getHeader(IDEMPOTENCY_KEY_RESPONSE_HEADER)).toBeUndefined();
    }
  });
});
