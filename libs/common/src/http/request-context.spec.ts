import type { IncomingMessage, ServerResponse } from 'node:http';
import { assignRequestId, requestIdHeaders } from './request-context';

const fakeRes = () => {
  const headers: Record<string, unknown> = {};
  return { headers, res: { headersSent: false, setHeader: (k: string, v: unknown) => (headers[k] = v) } as unknown as ServerResponse };
};
const fakeReq = (id?: string) => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as unknown as IncomingMessage;

describe('request id', () => {
  it('keeps a sane caller id, replaces a missing or malformed one, and echoes it', () => {
    for (const [given, kept] of [['abc-1', true], [undefined, false], ['with space', false], ['x'.repeat(129), false]] as const) {
      const { headers, res } = fakeRes();
      const id = assignRequestId(fakeReq(given), res);
      if (kept) expect(id).toBe(given);
      else expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(headers['x-request-id']).toBe(id);
    }
  });

  it('is idempotent: the second caller gets the first id', () => {
    const req = fakeReq();
    const first = assignRequestId(req, fakeRes().res);
    expect(assignRequestId(req, fakeRes().res)).toBe(first);
  });

  it('travels to the next hop as x-request-id, and background work sends none', () => {
    expect(requestIdHeaders('req-7')).toEqual({ 'x-request-id': 'req-7' });
    expect(requestIdHeaders(undefined)).toBeUndefined();
  });
});
