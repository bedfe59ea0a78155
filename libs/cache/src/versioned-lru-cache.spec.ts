import { jest } from '@jest/globals';
import { VersionedLruCache } from './versioned-lru-cache';

interface Box {
  v: number;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('VersionedLruCache', () => {
  it('serves a second lookup from the cache and counts hits and misses', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    const load = jest.fn(async () => ({ v: 1 }));
    await cache.getOrLoad('a', load);
    await cache.getOrLoad('a', load);
    expect(load).toHaveBeenCalledTimes(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('evicts the least recently used entry past capacity', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 2 });
    await cache.getOrLoad('a', async () => ({ v: 1 }));
    await cache.getOrLoad('b', async () => ({ v: 2 }));
    await cache.getOrLoad('a', async () => ({ v: 1 })); // a is now most recent
    await cache.getOrLoad('c', async () => ({ v: 3 })); // evicts b
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')).toEqual({ v: 1 });
    expect(cache.stats().evictions).toBe(1);
  });

  it('never stores a value loaded before an invalidation that arrived during the load', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    const slow = deferred<Box>();
    const inFlight = cache.getOrLoad('a', () => slow.promise);
    expect(cache.invalidate('a')).toBe(false);
    slow.resolve({ v: 1 }); // the old value
    await expect(inFlight).resolves.toEqual({ v: 1 });
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.stats().stale_fills_dropped).toBe(1);
    await expect(cache.getOrLoad('a', async () => ({ v: 2 }))).resolves.toEqual({ v: 2 });
    expect(cache.peek('a')).toEqual({ v: 2 });
  });

  it('does not let a lookup after an invalidation join a load that started before it', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    const old = deferred<Box>();
    const first = cache.getOrLoad('a', () => old.promise);
    cache.invalidate('a');
    const second = cache.getOrLoad('a', async () => ({ v: 2 }));
    old.resolve({ v: 1 });
    await expect(first).resolves.toEqual({ v: 1 });
    await expect(second).resolves.toEqual({ v: 2 });
    expect(cache.peek('a')).toEqual({ v: 2 });
  });

  it('shares one load between concurrent misses of the same version', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    const gate = deferred<Box>();
    const load = jest.fn(() => gate.promise);
    const all = Promise.all([cache.getOrLoad('a', load), cache.getOrLoad('a', load)]);
    gate.resolve({ v: 7 });
    await expect(all).resolves.toEqual([{ v: 7 }, { v: 7 }]);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('does not cache a failed load', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    await expect(cache.getOrLoad('a', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(cache.getOrLoad('a', async () => ({ v: 1 }))).resolves.toEqual({ v: 1 });
  });

  it('reports whether an invalidated key was cached', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    await cache.getOrLoad('a', async () => ({ v: 1 }));
    expect(cache.invalidate('a')).toBe(true);
    expect(cache.invalidate('a')).toBe(false);
    expect(cache.stats().invalidations).toBe(2);
  });

  it('always loads when switched off', async () => {
    const cache = new VersionedLruCache<Box>({ enabled: false, capacity: 10 });
    const load = jest.fn(async () => ({ v: 1 }));
    await cache.getOrLoad('a', load);
    await cache.getOrLoad('a', load);
    expect(load).toHaveBeenCalledTimes(2);
    expect(cache.stats()).toMatchObject({ enabled: false, size: 0, hits: 0 });
  });
});
