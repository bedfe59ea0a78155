import { Batcher } from './batcher';

/** A flush whose completion the test controls. */
function controlledFlush<I, O>(outcome: (item: I) => O | Error) {
  const calls: { items: I[]; release: () => void; fail: (err: Error) => void }[] = [];
  const flush = (items: I[]) =>
    new Promise<(O | Error)[]>((resolve, reject) => {
      calls.push({ items, release: () => resolve(items.map(outcome)), fail: reject });
    });
  return { calls, flush };
}

/** Lets pending callbacks, promise reactions and scheduled flushes run. */
const tick = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

describe('Batcher', () => {
  it('sends items submitted together in one flush and gives each its own outcome', async () => {
    const { calls, flush } = controlledFlush((n: number) => n * 10);
    const batcher = new Batcher(flush, { maxBatch: 10 });
    const results = Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    calls[0].release();
    await expect(results).resolves.toEqual([10, 20, 30]);
    await tick();
    expect(batcher.idle).toBe(true);
  });

  it('queues what arrives during a flush for the next one, which carries only items submitted before it started', async () => {
    const { calls, flush } = controlledFlush((n: number) => n);
    const batcher = new Batcher(flush, { maxBatch: 10 });
    const first = batcher.submit(1);
    await tick();
    const later = [batcher.submit(2), batcher.submit(3)];
    await tick();
    expect(calls).toHaveLength(1); // one flush at a time
    calls[0].release();
    await first;
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    const last = batcher.submit(4);
    calls[1].release();
    await Promise.all(later);
    await tick();
    expect(calls[2].items).toEqual([4]);
    calls[2].release();
    await expect(last).resolves.toBe(4);
  });

  it('fails only the item whose outcome is an error', async () => {
    const { calls, flush } = controlledFlush((n: number) => (n === 2 ? new Error('no 2') : n));
    const batcher = new Batcher(flush, { maxBatch: 10 });
    const settled = Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    await tick();
    calls[0].release();
    expect((await settled).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([1, 'no 2', 3]);
  });

  it('fails every item of a flush that throws, and carries on with the next batch', async () => {
    const { calls, flush } = controlledFlush((n: number) => n);
    const batcher = new Batcher(flush, { maxBatch: 10 });
    const doomed = Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    await tick();
    const next = batcher.submit(3);
    calls[0].fail(new Error('connection refused'));
    expect((await doomed).map((s) => s.status)).toEqual(['rejected', 'rejected']);
    await tick();
    calls[1].release();
    await expect(next).resolves.toBe(3);
  });

  it('fails an item the flush returned no outcome for', async () => {
    const batcher = new Batcher(async () => [1], { maxBatch: 10 });
    const settled = await Promise.allSettled([batcher.submit('a'), batcher.submit('b')]);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(settled[1].status).toBe('rejected');
  });

  it('splits at maxBatch and runs up to maxInFlight flushes at once', async () => {
    const { calls, flush } = controlledFlush((n: number) => n);
    const batcher = new Batcher(flush, { maxBatch: 2, maxInFlight: 2 });
    const all = Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4]]);
    calls[0].release();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
    calls[1].release();
    calls[2].release();
    await expect(all).resolves.toEqual([1, 2, 3, 4, 5]);
  });

  it("hands the flush the first request id its items came with", async () => {
    const seen: (string | undefined)[] = [];
    const batcher = new Batcher(async (items: number[], requestId) => {
      seen.push(requestId);
      return items;
    }, { maxBatch: 10 });
    await Promise.all([batcher.submit(1), batcher.submit(2, 'req-2'), batcher.submit(3, 'req-3')]);
    await batcher.submit(4);
    expect(seen).toEqual(['req-2', undefined]);
  });
});
