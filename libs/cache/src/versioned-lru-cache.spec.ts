import { jest } from '@jest/globals';
import { leaseClockMs } from './lease-clock';
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

/**
 * Offers: values the cache did not load (a trade's answer carries its stock as committed), which
 * may arrive after an invalidation of a newer change. `v` is the stamp (a stock's trade volume).
 */
describe('VersionedLruCache.offer', () => {
  const stamped = (leased = false) => new VersionedLruCache<Box>({ enabled: true, capacity: 10, leased, stampOf: (b) => b.v });
  /** A cache whose floor for `a` a load set to `v`. */
  const loadedAt = async (v: number) => {
    const cache = stamped();
    await cache.getOrLoad('a', async () => ({ v }));
    return cache;
  };

  it('takes a value no older than the last load, and counts it', async () => {
    const cache = await loadedAt(5);
    expect(cache.offer('a', { v: 5 })).toBe(true);
    expect(cache.offer('a', { v: 7 })).toBe(true);
    expect(cache.peek('a')).toEqual({ v: 7 });
    expect(cache.offer('a', { v: 6 })).toBe(false); // older than what it took
    expect(cache.peek('a')).toEqual({ v: 7 });
    expect(cache.stats().offers_taken).toBe(2);
  });

  it('refuses a value older than an invalidation announced, which may arrive before it', async () => {
    const cache = await loadedAt(5);
    cache.invalidate('a', 8); // a newer trade's push overtook the answer of an older one
    expect(cache.offer('a', { v: 6 })).toBe(false);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.offer('a', { v: 8 })).toBe(true);
  });

  it('refuses every value while the floor is unknown: from the start, and after an invalidation that names no stamp, until a load', async () => {
    const cache = stamped();
    expect(cache.offer('a', { v: 100 })).toBe(false);
    cache.invalidate('a', 3); // an announcement does not make an unknown floor known
    expect(cache.offer('a', { v: 100 })).toBe(false);
    await cache.getOrLoad('a', async () => ({ v: 5 }));
    cache.invalidate('a'); // e.g. a lease grant carrying a push that did not arrive: its volume is unknown
    expect(cache.offer('a', { v: 100 })).toBe(false);
    await cache.getOrLoad('a', async () => ({ v: 9 }));
    expect(cache.offer('a', { v: 9 })).toBe(true);
  });

  it('lets a load lower the floor: a change announced but never committed does not block offers for good', async () => {
    const cache = await loadedAt(5);
    cache.invalidate('a', 8); // the push went out while its batch committed, and the commit failed
    await cache.getOrLoad('a', async () => ({ v: 5 })); // the catalog, asked after the push, still has 5
    expect(cache.offer('a', { v: 6 })).toBe(true); // the next trade's answer
  });

  it('drops a load under way when it takes a value, since the load may bring an older one', async () => {
    const cache = await loadedAt(5);
    cache.invalidate('a', 6);
    const slow = deferred<Box>();
    const inFlight = cache.getOrLoad('a', () => slow.promise);
    expect(cache.offer('a', { v: 7 })).toBe(true);
    slow.resolve({ v: 6 }); // read before the trade that made 7
    await expect(inFlight).resolves.toEqual({ v: 6 });
    expect(cache.peek('a')).toEqual({ v: 7 });
    // A lookup after the offer neither joins the old load nor loads: it is a hit.
    await expect(cache.getOrLoad('a', async () => ({ v: -1 }))).resolves.toEqual({ v: 7 });
  });

  it('keeps a load that an older value\'s offer overtook: the newer value it read is what the next hit serves', async () => {
    const cache = await loadedAt(10);
    cache.invalidate('a', 11); // the push of trade 11: floor 11, entry dropped
    const slow = deferred<Box>();
    const lookup = cache.getOrLoad('a', () => slow.promise); // the catalog has trade 12 committed already
    expect(cache.offer('a', { v: 11 })).toBe(true); // trade 11's answer, late
    slow.resolve({ v: 12 });
    await expect(lookup).resolves.toEqual({ v: 12 });
    // Dropped, the next lookup would serve 11 after this one returned 12: reads going backwards.
    await expect(cache.getOrLoad('a', async () => ({ v: -1 }))).resolves.toEqual({ v: 12 });
    expect(cache.offer('a', { v: 11 })).toBe(false); // below the floor it set
    expect(cache.stats().stale_fills_dropped).toBe(0);
  });

  it('keeps the newer of two loads answered out of order, whichever version each began at', async () => {
    const cache = await loadedAt(9);
    cache.invalidate('a', 10); // trade 10's push: nothing cached
    const first = deferred<Box>();
    const older = cache.getOrLoad('a', () => first.promise); // sent before trade 11's push
    cache.invalidate('a', 11);
    const second = deferred<Box>();
    const newer = cache.getOrLoad('a', () => second.promise); // sent after it
    second.resolve({ v: 11 });
    await expect(newer).resolves.toEqual({ v: 11 });
    first.resolve({ v: 12 }); // the first request, answered last, read trade 12 too
    await expect(older).resolves.toEqual({ v: 12 });
    await expect(cache.getOrLoad('a', async () => ({ v: -1 }))).resolves.toEqual({ v: 12 });
  });

  it('makes a load still under way at the current version unable to store once it keeps an overtaken one', async () => {
    const cache = await loadedAt(10);
    cache.invalidate('a', 11); // trade 11's push: nothing cached, floor 11
    const first = deferred<Box>();
    const sentFirst = cache.getOrLoad('a', () => first.promise);
    cache.invalidate('a', 11); // a grant repeating that push: a new version
    const second = deferred<Box>();
    const sentSecond = cache.getOrLoad('a', () => second.promise); // at the current version
    first.resolve({ v: 12 }); // read after trade 12 committed (its push not here yet), answered first
    await expect(sentFirst).resolves.toEqual({ v: 12 });
    second.resolve({ v: 11 }); // read before trade 12, answered after
    await expect(sentSecond).resolves.toEqual({ v: 11 });
    await expect(cache.getOrLoad('a', async () => ({ v: -1 }))).resolves.toEqual({ v: 12 });
    expect(cache.offer('a', { v: 11 })).toBe(false); // the floor stayed at 12
  });

  it('still drops an overtaken load when the floor is unknown or its lease has ended', async () => {
    const cache = stamped(true);
    const now = leaseClockMs();
    cache.adoptLease(now + 60_000, [], false, now);
    await cache.getOrLoad('a', async () => ({ v: 5 }));
    cache.invalidate('a', 6);
    const slow = deferred<Box>();
    const lookup = cache.getOrLoad('a', () => slow.promise);
    cache.invalidate('a'); // no stamp: the floor is unknown
    slow.resolve({ v: 9 });
    await expect(lookup).resolves.toEqual({ v: 9 });
    expect(cache.peek('a')).toBeUndefined();
    await cache.getOrLoad('a', async () => ({ v: 9 }));
    const version = cache.versionOf('a');
    cache.invalidate('a', 10);
    expect(cache.setIfCurrent('a', { v: 10 }, version, now + 60_001)).toBe(false); // the lease has ended
    expect(cache.setIfCurrent('a', { v: 10 }, version, now + 1)).toBe(true);
    expect(cache.stats().stale_fills_dropped).toBe(2);
  });

  it('takes nothing without a lease, and forgets every floor when a lapsed lease is renewed', async () => {
    const cache = stamped(true);
    const now = leaseClockMs();
    cache.adoptLease(now + 60_000, [], false, now);
    await cache.getOrLoad('a', async () => ({ v: 5 }));
    expect(cache.offer('a', { v: 6 }, now + 60_001)).toBe(false); // the lease has ended
    cache.adoptLease(now + 120_000, [], false, now + 60_002); // renewed after the lapse: cleared
    expect(cache.offer('a', { v: 6 }, now + 60_003)).toBe(false);
    await cache.getOrLoad('a', async () => ({ v: 6 }));
    expect(cache.offer('a', { v: 7 })).toBe(true);
  });

  it('keeps an entry that already reaches an invalidation\'s stamp, and counts it', async () => {
    const cache = await loadedAt(5);
    expect(cache.offer('a', { v: 8 })).toBe(true); // a trade's answer, which came before the trade's push
    expect(cache.invalidate('a', 8)).toBe(false); // that push: the entry shows its change already
    expect(cache.invalidate('a', 6)).toBe(false); // an older change's, all the more
    expect(cache.peek('a')).toEqual({ v: 8 });
    expect(cache.stats()).toMatchObject({ invalidations: 2, size: 1 });
    await expect(cache.getOrLoad('a', async () => ({ v: -1 }))).resolves.toEqual({ v: 8 }); // a hit
    expect(cache.offer('a', { v: 8 })).toBe(true); // the floor is still known
  });

  it('still makes a fill under way unable to store when it keeps the entry', async () => {
    const cache = await loadedAt(5);
    cache.invalidate('a', 6);
    const slow = deferred<Box>();
    const inFlight = cache.getOrLoad('a', () => slow.promise); // reads 6 … slowly
    cache.setIfCurrent('a', { v: 9 }, cache.versionOf('a')); // meanwhile, a fill of the same version stores 9
    const version = cache.versionOf('a');
    expect(cache.invalidate('a', 9)).toBe(false); // kept…
    expect(cache.versionOf('a')).toBe(version + 1); // …but the version moves on
    slow.resolve({ v: 6 });
    await expect(inFlight).resolves.toEqual({ v: 6 });
    expect(cache.peek('a')).toEqual({ v: 9 }); // the slow fill could not put the older value back
    expect(cache.stats().stale_fills_dropped).toBe(1);
  });

  it('drops an entry older than an invalidation\'s stamp, and raises the floor', async () => {
    const cache = await loadedAt(5);
    expect(cache.invalidate('a', 6)).toBe(true);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.offer('a', { v: 5 })).toBe(false); // below the raised floor
    expect(cache.offer('a', { v: 6 })).toBe(true);
  });

  it('always drops the entry on an invalidation without a stamp, and makes the floor unknown', async () => {
    const cache = await loadedAt(5);
    expect(cache.offer('a', { v: 9 })).toBe(true);
    expect(cache.invalidate('a')).toBe(true); // the entry is newer than anything, but no stamp says so
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.offer('a', { v: 100 })).toBe(false);
  });

  it('takes the stamps of a lease grant: an entry that reaches one is kept, and a known floor stays known for the offer that follows', async () => {
    const cache = stamped(true);
    const now = leaseClockMs();
    cache.adoptLease(now + 60_000, [], false, now);
    await cache.getOrLoad('a', async () => ({ v: 5 }));
    await cache.getOrLoad('b', async () => ({ v: 9 }));
    // A renewal granted while a push of a trade taking 'a' to 7 (and one taking 'b' to 9) was under way.
    cache.adoptLease(now + 60_000, ['a', 'b'], false, now + 1, [7, 9]);
    expect(cache.peek('a')).toBeUndefined(); // older than the change: dropped
    expect(cache.peek('b')).toEqual({ v: 9 }); // shows it already: kept
    expect(cache.offer('a', { v: 7 }, now + 2)).toBe(true); // the trade's answer: the floor is known
    expect(cache.offer('a', { v: 6 }, now + 2)).toBe(false);
    // Stamps that do not match the stocks are ignored: invalidated without them.
    cache.adoptLease(now + 60_000, ['a', 'b'], false, now + 3, [7]);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.offer('a', { v: 8 }, now + 4)).toBe(false);
  });

  it('takes nothing without a stamp, or when switched off', async () => {
    const plain = new VersionedLruCache<Box>({ enabled: true, capacity: 10 });
    await plain.getOrLoad('a', async () => ({ v: 1 }));
    expect(plain.offer('a', { v: 2 })).toBe(false);
    const off = new VersionedLruCache<Box>({ enabled: false, capacity: 10, stampOf: (b) => b.v });
    await off.getOrLoad('a', async () => ({ v: 1 }));
    expect(off.offer('a', { v: 2 })).toBe(false);
    expect(off.peek('a')).toBeUndefined();
  });
});
