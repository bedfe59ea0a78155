import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { DomainError } from '@app/common';
import { CatalogEnv, frontendUrls, LeaseGrant } from '@app/contracts';

/** Monotonic milliseconds: leases are measured on it, never on the wall clock. */
export const monotonicMs = (): number => performance.now();

/**
 * Resolves once {@link monotonicMs} has reached `deadline`. A Node.js timer counts from the event
 * loop's cached time, which may be a few milliseconds behind the clock when it is set, so it may
 * fire that much before its time by this clock: each wake-up looks again.
 */
export async function sleepUntil(deadline: number): Promise<void> {
  for (let left = deadline - monotonicMs(); left > 0; left = deadline - monotonicMs()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
}

/** One front end's lease, as the catalog sees it. */
export interface FrontendLease {
  /** Where its invalidations are pushed (its FRONTEND_URLS entry). */
  readonly url: string;
  /** The id that holds the lease. */
  holder?: string;
  /** The process of `holder` that holds it, when it named itself (see LeaseRequestDto.instance). */
  instance?: string;
  /** Monotonic ms after which its lease has certainly ended: last receive + lease + margin. */
  expiresAt: number;
  /** Number of the last grant. */
  grant: number;
  /** Stocks whose push it may have missed → first grant that carried them (0: none yet). */
  readonly pending: Map<string, number>;
  /**
   * For stocks in `pending`, the highest trade volume their pushed changes reach, when every push
   * of them since they became pending named one; absent for a pending stock: unknown.
   */
  readonly volumes: Map<string, number>;
  /** Trades waiting for it to acknowledge a grant numbered above `after`. */
  waiters: { after: number; resolve: () => void }[];
}

/** What a failed push must wait for: the lease as it stood when the push began. */
export interface LeaseSnapshot {
  expiresAt: number;
  grant: number;
}

export class NotAFrontend extends DomainError {
  constructor(message: string) {
    super(409, message);
  }
}

/**
 * Read leases for the front ends' caches (Gray and Cheriton's leases, with the catalog as the
 * server and invalidation pushes instead of waiting out every write).
 *
 * A front end asks every third of a lease; the catalog records an expiry of its *receive* time +
 * `CACHE_LEASE_MS` + `LEASE_MARGIN_MS` (the front end counts from its *send* time, so it lets go
 * first, whatever the delays; the margin covers clock-rate drift). A push that does not arrive
 * makes the trade wait until the lease as it stood when the push began has ended — or until the
 * front end acknowledges a later grant, every one of which carries the missed stocks (they are
 * marked pending before the push starts and repeated until a grant holding them is acknowledged).
 * A front end's lease is therefore never extended silently past an invalidation it missed. A
 * grant carries, with the stocks, the trade volume each one's change reaches, as its push named
 * it (`trade_volumes`, only when every stock carried has one): like a push's, they let the front
 * end keep an entry that already shows the change, and keep taking trades' answers of the stock.
 *
 * Departures from the textbook: no lease per key (one per front end, for its whole cache), and
 * the grant's answer carries invalidations. A grant is tied to this process (`catalog` id): after
 * a restart, front ends clear their caches on their first grant, and trades are acknowledged only
 * once every lease an earlier process may have granted has ended (see CacheInvalidationService).
 */
@Injectable()
export class LeaseService {
  /** This process's id, in every grant. */
  readonly instance = randomUUID();
  readonly leaseMs: number;
  readonly marginMs: number;
  private readonly pushTimeoutMs: number;
  /** The start-up fence's span, when an earlier process's leases make it longer than this one's lease and margin (see {@link fenceLasts}). */
  private fenceSpanMs = 0;
  private readonly urls: string[];
  private readonly leases = new Map<string, FrontendLease>();

  constructor(config: ConfigService<CatalogEnv, true>) {
    this.leaseMs = config.get('CACHE_LEASE_MS', { infer: true });
    this.marginMs = config.get('LEASE_MARGIN_MS', { infer: true });
    this.pushTimeoutMs = config.get('INVALIDATION_TIMEOUT_MS', { infer: true });
    this.urls = frontendUrls({ FRONTEND_URL: config.get('FRONTEND_URL', { infer: true }), FRONTEND_URLS: config.get('FRONTEND_URLS', { infer: true }) });
  }

  /**
   * The longest a lookup or a trade may wait for a push to be safe: a push's timeout, then a lease
   * and its margin; or for the start-up fence, if an earlier process's leases made it longer.
   */
  get longestWaitMs(): number {
    return this.pushTimeoutMs + Math.max(this.leaseMs + this.marginMs, this.fenceSpanMs);
  }

  /** Says that the start-up fence lasts `spanMs` (an earlier process granted longer leases): grants then name a longer `wait_ms`. */
  fenceLasts(spanMs: number): void {
    this.fenceSpanMs = spanMs;
  }

  /** Every front end invalidations may go to (FRONTEND_URLS). */
  get frontends(): readonly string[] {
    return this.urls;
  }

  /**
   * The FRONTEND_URLS entry a front end's id stands for: the same URL; else the only entry on the
   * same port (a front end bound to 0.0.0.0 names itself 127.0.0.1); else the only entry.
   */
  resolve(id: string): string | undefined {
    const norm = id.replace(/\/+$/, '');
    if (this.urls.includes(norm)) return norm;
    const port = portOf(norm);
    const samePort = this.urls.filter((u) => portOf(u) === port);
    if (samePort.length === 1) return samePort[0];
    return this.urls.length === 1 ? this.urls[0] : undefined;
  }

  /**
   * Grants (or renews) the lease of front end `id`, process `instance` (if it names one), received
   * now. `catalog`/`applied`: the last grant it adopted, which acknowledges the invalidations that
   * grant carried. A lease held by another id, or by another process of the same id, is refused
   * until it has ended: that process may still serve its cache, and only its own grants or the
   * lease's end make a missed push safe.
   */
  grant(id: string, catalog?: string, applied?: number, now = monotonicMs(), instance?: string): LeaseGrant {
    const url = this.resolve(id);
    if (!url) throw new NotAFrontend(`${id} is not one of this catalog's front ends (FRONTEND_URLS: ${this.urls.join(',')})`);
    const lease = this.leaseOf(url);
    if (lease.holder !== id || lease.instance !== instance) {
      if (lease.holder !== undefined && now < lease.expiresAt) {
        throw new NotAFrontend(
          lease.holder === id
            ? `${url} is held by another process of front end ${id} until its lease ends (a restart, or two processes with one id); this one gets none`
            : `${url} is held by front end ${lease.holder} until its lease ends; ${id} gets none`,
        );
      }
      lease.holder = id;
      lease.instance = instance;
      lease.pending.clear();
      lease.volumes.clear();
    } else if (catalog === this.instance && applied !== undefined) {
      this.acknowledge(lease, applied);
    }
    lease.grant++;
    for (const [name, carried] of lease.pending) if (carried === 0) lease.pending.set(name, lease.grant);
    lease.expiresAt = Math.max(lease.expiresAt, now + this.leaseMs + this.marginMs);
    const invalidate = [...lease.pending.keys()];
    const granted: LeaseGrant = { lease_ms: this.leaseMs, catalog: this.instance, grant: lease.grant, invalidate, wait_ms: this.longestWaitMs };
    // The volumes go only when every carried stock has one: the front end takes them all or none.
    const volumes = invalidate.map((name) => lease.volumes.get(name));
    if (invalidate.length > 0 && volumes.every((v) => v !== undefined)) granted.trade_volumes = volumes as number[];
    return granted;
  }

  /** Front ends whose lease may still be valid now: the ones a push must reach. */
  holders(now = monotonicMs()): FrontendLease[] {
    return [...this.leases.values()].filter((l) => now < l.expiresAt);
  }

  /**
   * Before a push to `lease`: marks `names` as pending, so that every grant from now on carries
   * them until acknowledged; returns what a failure would have to wait for. `volumes`, in the
   * order of `names` (the push's `trade_volumes`): the trade volume each stock's change reaches,
   * which grants carry with the stock (the highest of its pushes while it is pending). A stock
   * pushed without one has no known volume until it is no longer pending, and grants carrying it
   * then carry no volumes at all.
   */
  beforePush(lease: FrontendLease, names: readonly string[], volumes?: readonly number[]): LeaseSnapshot {
    names.forEach((name, i) => {
      const volume = volumes?.length === names.length ? volumes[i] : undefined;
      const known = lease.volumes.get(name);
      if (volume === undefined) lease.volumes.delete(name);
      else if (!lease.pending.has(name)) lease.volumes.set(name, volume);
      else if (known !== undefined) lease.volumes.set(name, Math.max(known, volume));
      // else: pending already with an unknown volume, which stays unknown
      lease.pending.set(name, 0);
    });
    return { expiresAt: lease.expiresAt, grant: lease.grant };
  }

  /**
   * The push of `names` arrived: those not yet carried by a grant need not be. Assumes no other push
   * of them is under way (CacheInvalidationService pushes one at a time).
   */
  delivered(lease: FrontendLease, names: readonly string[]): void {
    for (const name of names) if (lease.pending.get(name) === 0) this.forget(lease, name);
  }

  /**
   * Resolves once a push that began at `snapshot` and failed no longer matters: the front end's
   * lease as it stood then has ended, or it acknowledged a grant issued since (which carried the
   * stocks).
   */
  whenSafe(lease: FrontendLease, snapshot: LeaseSnapshot): Promise<void> {
    const wait = snapshot.expiresAt - monotonicMs();
    if (wait <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = { after: snapshot.grant, resolve: () => done() };
      const done = () => {
        clearTimeout(timer);
        lease.waiters = lease.waiters.filter((w) => w !== waiter);
        resolve();
      };
      // A timer may fire a little before its time by the monotonic clock (see sleepUntil): it looks again.
      const check = () => {
        const left = snapshot.expiresAt - monotonicMs();
        if (left > 0) timer = setTimeout(check, Math.ceil(left) + 1);
        else done();
      };
      lease.waiters.push(waiter);
      check();
    });
  }

  private acknowledge(lease: FrontendLease, applied: number): void {
    if (applied > lease.grant) return; // not a grant of ours
    for (const [name, carried] of lease.pending) if (carried !== 0 && carried <= applied) this.forget(lease, name);
    for (const w of lease.waiters.filter((w) => applied > w.after)) w.resolve();
  }

  /** `name` is no longer pending at `lease` (nor is its volume known). */
  private forget(lease: FrontendLease, name: string): void {
    lease.pending.delete(name);
    lease.volumes.delete(name);
  }

  private leaseOf(url: string): FrontendLease {
    let lease = this.leases.get(url);
    if (!lease) {
      lease = { url, expiresAt: -Infinity, grant: 0, pending: new Map(), volumes: new Map(), waiters: [] };
      this.leases.set(url, lease);
    }
    return lease;
  }
}

function portOf(url: string): string {
  try {
    const u = new URL(url);
    return u.port || (u.protocol === 'https:' ? '443' : '80');
  } catch {
    return '';
  }
}
