import { LRUCache } from 'lru-cache';
import type { CacheStats } from '@app/contracts';
import { leaseClockMs } from './lease-clock';

export interface CacheOptions<V = unknown> {
  enabled: boolean;
  /** Most entries held; the least recently used is evicted past it. */
  capacity: number;
  /**
   * Serve entries only under a lease ({@link adoptLease}): without a valid one every lookup
   * loads and nothing is stored. Default false (always served: unit tests, tools).
   */
  leased?: boolean;
  /**
   * A value's place in its key's history: a number that grows with every change of the key (a
   * stock's trade volume). Given, the cache also takes values it did not load ({@link offer}),
   * such as the stock a trade's answer carries; without it, it only stores what it loads.
   */
  stampOf?(value: V): number;
}

/**
 * An LRU read-through cache whose invalidations cannot be undone by a racing fill.
 *
 * Every key has a version that {@link invalidate} bumps. A fill records the version before it
 * starts loading and stores its value only if the version is unchanged when the load returns, so
 * a lookup that was in flight to the catalog when an invalidation arrived never puts its older
 * value back. Concurrent misses for the same key and version share one load.
 *
 * With a stamp (see {@link CacheOptions.stampOf}) the cache can also be offered values from
 * elsewhere — a trade's answer carries its stock as committed — which arrive in no particular
 * order with the invalidations. Such an offer is taken only if it is known to be no older than
 * anything the cache has heard of, which needs a floor per key: the newest stamp the key is known
 * to have reached. A load sets it (its value is the catalog's newest when it returns: an
 * invalidation arriving during the load would have dropped it); an invalidation that names a
 * stamp above every one the key had before its change raises it; one that names none makes it
 * unknown, and an unknown floor takes no offer until the next load.
 *
 * The same stamp tells whether an invalidation still has anything to drop. Stamps grow with every
 * change of a key, and an invalidation's stamp is above every one the key had before its change,
 * so an entry whose own stamp already reaches it shows the change (it came from a trade's answer
 * or a load that arrived first): {@link invalidate} keeps it, though it still bumps the version,
 * so a fill under way, which may bring an older value, cannot store. An invalidation without a
 * stamp always drops the entry.
 */
export class VersionedLruCache<V extends object> {
  private readonly lru: LRUCache<string, V>;
  private readonly versions = new Map<string, number>();
  private readonly loading = new Map<string, { version: number; promise: Promise<V> }>();
  /** Per key, the newest stamp it is known to have reached; absent: unknown (see {@link offer}). */
  private readonly floors = new Map<string, number>();
  private readonly counters = { hits: 0, misses: 0, evictions: 0, invalidations: 0, stale_fills_dropped: 0, offers_taken: 0 };
  /** Time on the lease clock (see leaseClock) until which entries may be served; Infinity when the cache is not leased. */
  private leaseUntil: number;

  constructor(private readonly options: CacheOptions<V>) {
    this.lru = new LRUCache<string, V>({
      max: options.capacity,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.counters.evictions++;
      },
    });
    this.leaseUntil = options.leased ? -Infinity : Infinity;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Returns the cached value, or loads it (sharing a load already under way) and caches it. */
  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    if (!this.options.enabled) return load();
    // The lease check: one comparison of two numbers, nothing allocated, nothing awaited.
    if (!(leaseClockMs() < this.leaseUntil)) {
      this.counters.misses++;
      return load();
    }
    const cached = this.lru.get(key);
    if (cached !== undefined) {
      this.counters.hits++;
      return cached;
    }
    this.counters.misses++;
    const version = this.versionOf(key);
    const pending = this.loading.get(key);
    if (pending && pending.version === version) return pending.promise;
    const promise = load()
      .then((value) => {
        this.setIfCurrent(key, value, version);
        return value;
      })
      .finally(() => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
      });
    this.loading.set(key, { version, promise });
    return promise;
  }

  /**
   * Stores `value`, loaded from the source of truth, unless `key` was invalidated after `version`
   * was read. Its stamp becomes the key's floor: nothing announced before the load began is newer
   * than what it read.
   *
   * A load that an invalidation or an offer overtook is not dropped when its stamp shows it is no
   * older than anything the cache has heard of since (a known floor it reaches, under a valid
   * lease: {@link offer}'s rule). Dropped, a newer value than the one the cache keeps would be
   * returned to this lookup and the next one served the older one: a trade's answer that arrived
   * late, or a load sent earlier that came back later, reads going backwards (found by a review).
   */
  setIfCurrent(key: string, value: V, version: number, now = leaseClockMs()): boolean {
    if (this.versionOf(key) !== version) {
      const stampOf = this.options.stampOf;
      const floor = this.floors.get(key);
      if (!stampOf || floor === undefined || stampOf(value) < floor || !(now < this.leaseUntil)) {
        this.counters.stale_fills_dropped++;
        return false;
      }
      // Taken as an offer is: a load still under way at the current version may have read an
      // older state than this one (sent later, answered later), and must not store it over it.
      this.versions.set(key, this.versionOf(key) + 1);
      this.loading.delete(key);
    }
    this.lru.set(key, value);
    // Overtaken, it reaches the floor (checked above); otherwise what it read is the newest there is.
    if (this.options.stampOf) this.floors.set(key, this.options.stampOf(value));
    return true;
  }

  /**
   * Offers a value that was current at the source at some point (a trade's answer carries its
   * stock as committed), arriving in any order with the invalidations. Taken — stored, and loads
   * under way dropped, as they may bring an older value — only under a valid lease and if its
   * stamp is no older than the key's floor; refused when the floor is unknown (since start, a
   * clear, or an invalidation without a stamp), as a newer change may then have been announced
   * without a stamp. Returns whether it was taken.
   */
  offer(key: string, value: V, now = leaseClockMs()): boolean {
    const stampOf = this.options.stampOf;
    if (!this.options.enabled || !stampOf || !(now < this.leaseUntil)) return false;
    const floor = this.floors.get(key);
    const stamp = stampOf(value);
    if (floor === undefined || stamp < floor) return false;
    this.versions.set(key, this.versionOf(key) + 1);
    this.loading.delete(key);
    this.lru.set(key, value);
    this.floors.set(key, stamp);
    this.counters.offers_taken++;
    return true;
  }

  versionOf(key: string): number {
    return this.versions.get(key) ?? 0;
  }

  /**
   * Invalidates `key` after a change: makes any fill that started before now unable to store,
   * and drops the cached entry unless it already shows the change. `stamp`: one above every
   * stamp the key had before the change (the stamp the change reaches will do), which raises a
   * known floor; an entry whose own stamp is at least `stamp` (with {@link CacheOptions.stampOf})
   * is newer than everything before the change, and is kept. Without a stamp the entry is always
   * dropped and the floor becomes unknown. Counted as an invalidation either way.
   *
   * Returns whether an entry was dropped: false when `key` was not cached, and when its entry was
   * kept because it reaches `stamp`.
   */
  invalidate(key: string, stamp?: number): boolean {
    this.versions.set(key, this.versionOf(key) + 1);
    this.loading.delete(key);
    this.counters.invalidations++;
    const floor = this.floors.get(key);
    if (stamp === undefined) this.floors.delete(key);
    else if (floor !== undefined && stamp > floor) this.floors.set(key, stamp);
    if (stamp !== undefined && this.options.stampOf) {
      const cached = this.lru.peek(key);
      if (cached !== undefined && this.options.stampOf(cached) >= stamp) return false; // shows the change already
    }
    return this.lru.delete(key);
  }

  /** Drops every entry, makes every fill under way unable to store and every floor unknown. */
  clear(): void {
    for (const key of this.loading.keys()) this.versions.set(key, this.versionOf(key) + 1);
    this.loading.clear();
    this.lru.clear();
    this.floors.clear();
  }

  /** Whether entries may be served now (a valid lease, or a cache that is not leased). */
  holdsLease(now = leaseClockMs()): boolean {
    return now < this.leaseUntil;
  }

  /** Until when (lease-clock ms, see leaseClock) entries may be served. */
  get leaseValidUntil(): number {
    return this.leaseUntil;
  }

  /**
   * Adopts a lease valid until `validUntil` (lease-clock ms, see leaseClock; measured from when its request was
   * sent). First invalidates `invalidate` — the stocks whose push may not have arrived — and, when
   * the previous lease had lapsed or `reset` is set (a new catalog process), drops everything:
   * entries kept through a gap might have missed an invalidation. `stamps`, when given, holds
   * each stock's stamp, in the order of `invalidate` (see {@link invalidate}: an entry that
   * already reaches it is kept, and a known floor stays known); without them (or when their count
   * differs) every stock is invalidated without a stamp. A lease that has already ended changes
   * nothing but the invalidations. Returns whether the cache was cleared.
   */
  adoptLease(validUntil: number, invalidate: readonly string[], reset: boolean, now = leaseClockMs(), stamps?: readonly number[]): boolean {
    const stamped = stamps !== undefined && stamps.length === invalidate.length;
    invalidate.forEach((key, i) => this.invalidate(key, stamped ? stamps[i] : undefined));
    if (!(validUntil > now)) return false;
    const cleared = reset || !(now < this.leaseUntil);
    if (cleared) this.clear();
    this.leaseUntil = cleared ? validUntil : Math.max(this.leaseUntil, validUntil);
    return cleared;
  }

  peek(key: string): V | undefined {
    return this.lru.peek(key);
  }

  stats(): CacheStats {
    return { enabled: this.options.enabled, capacity: this.options.capacity, size: this.lru.size, ...this.counters };
  }
}
