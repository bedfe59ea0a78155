import { jest } from '@jest/globals';
import { MAX_FAILOVER_TIMEOUT_MS, MIN_IDEMPOTENCY_RETENTION_MS } from '@app/contracts/idempotency';
import { BazaarClient, KEYED_TRADE_MOVE_WINDOW_MS, splitUrls, type FetchLike } from './bazaar-client';
import { validateUrl } from '../load/load-options';

const A = 'http://127.0.0.1:30001';
const B = 'http://127.0.0.1:30002';

/** A fetch whose answer per front end (origin) the test sets: a status, or a connection error code. */
function fakeFetch(answers: Record<string, number | string>) {
  const calls: { url: string; method: string; key?: string }[] = [];
  const fetchImpl: FetchLike = async (input, init) => {
    const url = new URL(input);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url: input, method: init.method ?? 'GET', key: headers['idempotency-key'] });
    const answer = answers[url.origin];
    if (typeof answer === 'string') {
      const cause = Object.assign(new Error(`connect ${answer}`), { code: answer });
      throw new TypeError('fetch failed', { cause });
    }
    return new Response(JSON.stringify({ order_no: 7 }), { status: answer });
  };
  return { calls, fetchImpl };
}

describe('BazaarClient with several front ends', () => {
  it('splits and validates a comma-separated --url', () => {
    expect(splitUrls(`${A}, ${B}`)).toEqual([A, B]);
    expect(validateUrl(`${A},${B}`)).toBe(`${A},${B}`);
    expect(() => validateUrl(`${A},nope`)).toThrow(/--url must be an http\(s\) URL/);
  });

  it('moves a lookup to the next front end when one refuses the connection, and stays there', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 'ECONNREFUSED', [new URL(B).origin]: 200 });
    const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
    expect(await client.lookup('Stock1')).toMatchObject({ kind: 'response', status: 200 });
    expect(calls.map((c) => new URL(c.url).origin)).toEqual([A, B]);
    await client.lookup('Stock2');
    expect(new URL(calls[2].url).origin).toBe(B);
  });

  it('retries a trade on the next front end with the same idempotency key — its own when none was given', async () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET']) {
      const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: code, [new URL(B).origin]: 200 });
      const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
      expect(await client.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'response', status: 200, body: { order_no: 7 } });
      expect(calls).toHaveLength(2);
      expect(calls[0].key).toMatch(/^[0-9a-f-]{36}$/);
      expect(calls[1].key).toBe(calls[0].key);
      await client.trade('Stock1', 'buy', 1, 'my-key');
      expect(calls[2]).toMatchObject({ key: 'my-key' });
    }
  });

  it('moves on after a timeout too', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(B).origin]: 200 });
    const slow: FetchLike = (input, init) =>
      new URL(input).origin === A
        ? new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'TimeoutError' }))))
        : fetchImpl(input, init);
    const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 50, fetchImpl: slow });
    expect(await client.trade('Stock1', 'buy', 1, 'k1')).toMatchObject({ kind: 'response', status: 200 });
    expect(calls).toEqual([expect.objectContaining({ key: 'k1' })]);
  });

  it('reports the failure when every front end fails, and never resends a trade without a key to a single front end', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 'ECONNREFUSED', [new URL(B).origin]: 'ECONNREFUSED' });
    const both = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
    expect(await both.lookup('Stock1')).toMatchObject({ kind: 'transport', error: 'ECONNREFUSED' });
    expect(calls).toHaveLength(2);
    const one = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl });
    calls.length = 0;
    expect(await one.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'transport', error: 'ECONNREFUSED', url: `${A}/orders` });
    expect(calls).toEqual([expect.objectContaining({ key: undefined })]);
  });

  it('moves a keyed trade only within KEYED_TRADE_MOVE_WINDOW_MS of its first sending, a lookup at any time', async () => {
    // The clock as the client reads it: each refused connection to A takes 16 s of it.
    let nowNs = 0n;
    const clock = jest.spyOn(process.hrtime, 'bigint').mockImplementation(() => nowNs);
    try {
      const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 'ECONNREFUSED', [new URL(B).origin]: 200 });
      const slowRefusal: FetchLike = async (input, init) => {
        if (new URL(input).origin === A) nowNs += BigInt(KEYED_TRADE_MOVE_WINDOW_MS + 1000) * 1_000_000n;
        return fetchImpl(input, init);
      };
      const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl: slowRefusal });
      expect(await client.trade('Stock1', 'buy', 1, 'late')).toMatchObject({ kind: 'transport', error: 'ECONNREFUSED' });
      expect(calls).toEqual([expect.objectContaining({ key: 'late' })]);
      expect(await client.lookup('Stock1')).toMatchObject({ kind: 'response', status: 200 });
      expect(calls.map((c) => new URL(c.url).origin)).toEqual([A, A, B]);
    } finally {
      clock.mockRestore();
    }
    // A window of a quarter of the shortest key window leaves the front end's longest retry span inside it.
    expect(KEYED_TRADE_MOVE_WINDOW_MS + MAX_FAILOVER_TIMEOUT_MS).toBeLessThan(MIN_IDEMPOTENCY_RETENTION_MS);
  });

  it('does not move on an HTTP answer, whatever its status', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 503, [new URL(B).origin]: 200 });
    const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
    expect(await client.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'response', status: 503 });
    expect(calls).toHaveLength(1);
  });
});
