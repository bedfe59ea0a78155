import { LRUCache } from 'lru-cache';
import type { CacheStats } from '@app/contracts';

export interface CacheOptions {
  enabled: boolean;
  /** Most entries held; the least recently used is evicted past it. */
  capacity: number;
  /**
   * Serve entries only under a lease ({@link adoptLease}): without a valid one every lookup
   * loads and nothing is stored. Default false (always served: unit tests, tools).
   */
  leased?: boolean;
}

/** Monotonic milliseconds (`performance.now()`): the clock leases are measured on. */
export const monotonicMs = (): number => performance.now();

/**
 * An LRU read-through cache whose invalidations cannot be undone by a racing fill.
 *
 * Every key has a version that {@link invalidate} bumps. A fill records the version before it
 * starts loading and stores its value only if the version is unchanged when the load returns, so
 * a lookup that was in flight to the catalog when an invalidation arrived never puts its older
 * value back. Concurrent misses for the same key and version share one load.
 */
export class VersionedLruCache<V extends object> {
  private readonly lru: LRUCache<string, V>;
  private readonly versions = new Map<string, number>();
  private readonly loading = new Map<string, { version: number; promise: Promise<V> }>();
  private readonly counters = { hits: 0, misses: 0, evictions: 0, invalidations: 0, stale_fills_dropped: 0 };
  /** Monotonic time until which entries may be served; Infinity when the cache is not leased. */
  private leaseUntil: number;

  constructor(private readonly options: CacheOptions) {
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
    if (!(monotonicMs() < this.leaseUntil)) {
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

  /** Stores `value` unless `key` was invalidated after `version` was read. */
  setIfCurrent(key: string, value: V, version: number): boolean {
    if (this.versionOf(key) !== version) {
      this.counters.stale_fills_dropped++;
      return false;
    }
    this.lru.set(key, value);
    return true;
  }

  versionOf(key: string): number {
    return this.versions.get(key) ?? 0;
  }

  /** Drops `key` and makes any fill that started before now unable to store. Returns whether it was cached. */
  invalidate(key: string): boolean {
    this.versions.set(key, this.versionOf(key) + 1);
    this.loading.delete(key);
    this.counters.invalidations++;
    return this.lru.delete(key);
  }

  /** Drops every entry and makes every fill under way unable to store. */
  clear(): void {
    for (const key of this.loading.keys()) this.versions.set(key, this.versionOf(key) + 1);
    this.loading.clear();
    this.lru.clear();
  }

  /** Whether entries may be served now (a valid lease, or a cache that is not leased). */
  holdsLease(now = monotonicMs()): boolean {
    return now < this.leaseUntil;
  }

  /** Until when (monotonic ms) entries may be served. */
  get leaseValidUntil(): number {
    return this.leaseUntil;
  }

  /**
   * Adopts a lease valid until `validUntil` (monotonic ms; measured from when its request was
   * sent). First drops `invalidate` — the stocks whose push did not arrive — and, when the
   * previous lease had lapsed or `reset` is set (a new catalog process), everything: entries kept
   * through a gap might have missed an invalidation. A lease that has already ended changes
   * nothing but the invalidations. Returns whether the cache was cleared.
   */
  adoptLease(validUntil: number, invalidate: readonly string[], reset: boolean, now = monotonicMs()): boolean {
    for (const key of invalidate) this.invalidate(key);
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
