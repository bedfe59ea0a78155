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

  it('reports the failure when every front end fails; a trade refused everywhere is not sent again (nothing was traded)', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 'ECONNREFUSED', [new URL(B).origin]: 'ECONNREFUSED' });
    const both = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
    expect(await both.lookup('Stock1')).toMatchObject({ kind: 'transport', error: 'ECONNREFUSED' });
    expect(calls).toHaveLength(2);
    calls.length = 0;
    expect(await both.trade('Stock1', 'buy', 1, 'k')).toMatchObject({ kind: 'transport', error: 'ECONNREFUSED', attempts: 2, mayHaveArrived: false, idempotencyKey: 'k' });
    expect(calls).toHaveLength(2);
    const one = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl });
    calls.length = 0;
    expect(await one.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'transport', error: 'ECONNREFUSED', url: `${A}/orders`, attempts: 1, mayHaveArrived: false });
    expect(calls).toEqual([expect.objectContaining({ key: expect.stringMatching(/^[0-9a-f-]{36}$/) })]);
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

  it('does not move a trade on an HTTP answer, whatever its status', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 503, [new URL(B).origin]: 200 });
    const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
    expect(await client.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'response', status: 503 });
    expect(calls).toHaveLength(1);
  });

  it('moves a lookup answered 503 to the next front end (one cut off from the catalog answers so at once), and stays there', async () => {
    const { calls, fetchImpl } = fakeFetch({ [new URL(A).origin]: 503, [new URL(B).origin]: 200 });
    const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl });
    expect(await client.lookup('Stock1')).toMatchObject({ kind: 'response', status: 200, attempts: 2 });
    await client.lookup('Stock2');
    expect(calls.map((c) => new URL(c.url).origin)).toEqual([A, B, B]);
  });

  it('answers a lookup 503 when every front end does, or the others give no answer; a 404 does not move', async () => {
    const all = fakeFetch({ [new URL(A).origin]: 503, [new URL(B).origin]: 503 });
    expect(await new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl: all.fetchImpl }).lookup('Stock1')).toMatchObject({ kind: 'response', status: 503, attempts: 2 });
    const down = fakeFetch({ [new URL(A).origin]: 503, [new URL(B).origin]: 'ECONNREFUSED' });
    expect(await new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl: down.fetchImpl }).lookup('Stock1')).toMatchObject({ kind: 'response', status: 503, attempts: 2 });
    const missing = fakeFetch({ [new URL(A).origin]: 404, [new URL(B).origin]: 200 });
    expect(await new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl: missing.fetchImpl }).lookup('Stock9')).toMatchObject({ kind: 'response', status: 404 });
    expect(missing.calls).toHaveLength(1);
  });
});

/** A fetch that answers each call with the next of `answers` (the last one repeats): a status, a connection error code, or `'timeout'`. */
function scriptedFetch(answers: (number | string)[]) {
  const calls: { url: string; method: string; key?: string }[] = [];
  const fetchImpl: FetchLike = async (input, init) => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url: input, method: init.method ?? 'GET', key: headers['idempotency-key'] });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (answer === 'timeout') throw Object.assign(new Error('aborted'), { name: 'TimeoutError' });
    if (typeof answer === 'string') throw new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${answer}`), { code: answer }) });
    return new Response(JSON.stringify(answer === 200 ? { order_no: 7 } : { order_no: -1, message: 'No order replica' }), { status: answer });
  };
  return { calls, fetchImpl };
}

describe('BazaarClient: a trade that got no answer', () => {
  const fast = { initialMs: 1, maxMs: 1, factor: 1 };

  it('is sent with an Idempotency-Key of its own with one front end too, and its outcome carries the key', async () => {
    const { calls, fetchImpl } = scriptedFetch([200]);
    const client = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl });
    const outcome = await client.trade('Stock1', 'buy', 1);
    expect(calls[0].key).toMatch(/^[0-9a-f-]{36}$/);
    expect(outcome).toMatchObject({ kind: 'response', status: 200, attempts: 1, idempotencyKey: calls[0].key });
    await client.trade('Stock1', 'buy', 1);
    expect(calls[1].key).not.toBe(calls[0].key);
  });

  it.each(['timeout', 'ECONNRESET', 'socket hang up'])('after %s is sent again to the same front end with the same key: its answer is the outcome', async (failure) => {
    const { calls, fetchImpl } = scriptedFetch([failure, 'ECONNREFUSED', 200]);
    const client = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl, resendBackoff: fast });
    expect(await client.trade('Stock1', 'buy', 1, 'k1')).toMatchObject({ kind: 'response', status: 200, body: { order_no: 7 }, attempts: 3, idempotencyKey: 'k1' });
    expect(calls.map((c) => [c.url, c.method, c.key])).toEqual(Array(3).fill([`${A}/orders`, 'POST', 'k1']));
  });

  it('goes round several front ends again with the same key', async () => {
    const { calls, fetchImpl } = scriptedFetch(['ECONNRESET', 'timeout', 200]);
    const client = new BazaarClient({ url: `${A},${B}`, timeoutMs: 1000, fetchImpl, resendBackoff: fast });
    expect(await client.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'response', status: 200, attempts: 3 });
    expect(calls.map((c) => new URL(c.url).origin)).toEqual([A, B, A]);
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
  });

  it('is sent again only within KEYED_TRADE_MOVE_WINDOW_MS of its first sending; then its outcome is unknown', async () => {
    let nowNs = 0n;
    const clock = jest.spyOn(process.hrtime, 'bigint').mockImplementation(() => nowNs);
    try {
      const { calls, fetchImpl } = scriptedFetch(['timeout']);
      const slow: FetchLike = (input, init) => {
        nowNs += 4_000n * 1_000_000n; // each sending times out after 4 s of the client's clock
        return fetchImpl(input, init);
      };
      const client = new BazaarClient({ url: A, timeoutMs: 4000, fetchImpl: slow, resendBackoff: fast });
      const outcome = await client.trade('Stock1', 'buy', 1, 'k1');
      expect(outcome).toMatchObject({ kind: 'transport', error: 'timeout after 4000 ms', url: `${A}/orders`, mayHaveArrived: true, idempotencyKey: 'k1' });
      expect(outcome.attempts).toBe(Math.ceil(KEYED_TRADE_MOVE_WINDOW_MS / 4000));
      expect(calls).toHaveLength(outcome.attempts);
    } finally {
      clock.mockRestore();
    }
  });

  it('is not sent again after an HTTP answer, nor by a client told not to, nor as a lookup to the same front end', async () => {
    const answered = scriptedFetch([503, 200]);
    const client = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl: answered.fetchImpl, resendBackoff: fast });
    expect(await client.trade('Stock1', 'buy', 1)).toMatchObject({ kind: 'response', status: 503, attempts: 1 });
    expect(answered.calls).toHaveLength(1);

    const unanswered = scriptedFetch(['ECONNRESET', 200]);
    const once = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl: unanswered.fetchImpl, resendUnanswered: false, resendBackoff: fast });
    expect(await once.trade('Stock1', 'buy', 1, 'k1')).toMatchObject({ kind: 'transport', error: 'ECONNRESET', attempts: 1, mayHaveArrived: true, idempotencyKey: 'k1' });
    expect(unanswered.calls).toHaveLength(1);

    const lookups = scriptedFetch(['ECONNRESET', 200]);
    const reader = new BazaarClient({ url: A, timeoutMs: 1000, fetchImpl: lookups.fetchImpl, resendBackoff: fast });
    expect(await reader.lookup('Stock1')).toMatchObject({ kind: 'transport', error: 'ECONNRESET', attempts: 1 });
    expect(lookups.calls).toHaveLength(1);
  });
});
