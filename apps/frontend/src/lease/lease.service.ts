import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { leaseClockMs, VersionedLruCache } from '@app/cache';
import { monotonicNow } from '@app/common';
import { CatalogRoutes, FrontendEnv, LeaseGrant, LeaseRequestDto, StockInfo } from '@app/contracts';

/** What a lease answer means for this front end (pure: the unit test's subject). */
export interface LeaseDecision {
  /** Lease-clock ms (see leaseClock) until which cached entries may be served: send time + the shorter lease. */
  validUntil: number;
  /** The answer came too late to be of use: its lease had already ended. */
  late: boolean;
}

/** The lease a grant gives when its request left at `sentAt`: the shorter of ours and the catalog's, from the send time. */
export function leaseFromGrant(sentAt: number, ownLeaseMs: number, grant: Pick<LeaseGrant, 'lease_ms'>, now: number): LeaseDecision {
  const validUntil = sentAt + Math.min(ownLeaseMs, grant.lease_ms);
  return { validUntil, late: !(validUntil > now) };
}

/**
 * A grant's `trade_volumes` if they are well formed — one non-negative safe integer per stock of
 * `invalidate` — else undefined: the stocks are then invalidated without them (the safe way).
 */
export function grantVolumes(grant: Pick<LeaseGrant, 'invalidate' | 'trade_volumes'>): number[] | undefined {
  const volumes: unknown = grant.trade_volumes;
  if (!Array.isArray(volumes) || !Array.isArray(grant.invalidate) || volumes.length !== grant.invalidate.length) return undefined;
  return volumes.every((v) => Number.isSafeInteger(v) && (v as number) >= 0) ? (volumes as number[]) : undefined;
}

/** The catalog's refusal while another process with this front end's id holds the lease (see the catalog's LeaseService.grant). */
const PREDECESSOR = /another process of front end/;

/** This front end's id towards the catalog: FRONTEND_ID, else its own address and port. */
export function frontendId(env: Pick<FrontendEnv, 'FRONTEND_ID' | 'HOST' | 'FRONTEND_PORT'>): string {
  if (env.FRONTEND_ID) return env.FRONTEND_ID.replace(/\/+$/, '');
  const wildcard = env.HOST === '0.0.0.0' || env.HOST === '::' || env.HOST === '[::]';
  const host = wildcard ? '127.0.0.1' : env.HOST.includes(':') && !env.HOST.startsWith('[') ? `[${env.HOST}]` : env.HOST;
  return `http://${host}:${env.FRONTEND_PORT}`;
}

/**
 * Holds this front end's cache lease from the catalog (a read lease, as in Gray and Cheriton's
 * leases): the cache serves entries only while the lease is valid, so an invalidation the
 * catalog could not deliver costs at most one lease length of waiting at the catalog, never a
 * stale read.
 *
 * The lease is asked for on the first lookup, then every third of its length (of the last lease
 * held: a catalog may grant shorter ones than this front end's own), one request at a time. It
 * starts when the request was *sent* (on the lease clock: monotonic, and moved forward past a
 * host suspend, see leaseClock) and lasts the shorter of `CACHE_LEASE_MS` and the catalog's; the
 * catalog counts from when it *received* the request and adds a margin for clock-rate drift, so
 * the front end's lease always ends first. A grant's `invalidate` list is applied before the lease
 * is adopted, with its `trade_volumes` when it has them (an entry that already reaches a stock's
 * volume is kept, see VersionedLruCache.invalidate); a grant after a lapse, or from another
 * catalog process, clears the whole cache first. Each request acknowledges the last grant
 * adopted, so that the catalog repeats undelivered invalidations until one has certainly arrived.
 */
@Injectable()
export class LeaseService implements OnApplicationShutdown {
  private readonly logger = new Logger(LeaseService.name);
  private readonly url: string;
  private readonly id: string;
  private readonly leaseMs: number;
  private readonly enabled: boolean;
  private timer?: NodeJS.Timeout;
  private first?: Promise<void>;
  private stopped = false;
  private last?: { catalog: string; grant: number };
  private warnedAt = -Infinity;
  private lapsed = true;
  /** Whether it has said that the lease is still an earlier process's. */
  private toldPredecessor = false;
  /** When it first asked for a lease (lease-clock ms). */
  private firstAskedAt?: number;
  /** The length of the last adopted lease: the shorter of ours and the catalog's. */
  private heldMs: number;
  /** The last adopted grant's `wait_ms`, if it had one. */
  private waitMs?: number;
  /**
   * When the catalog last answered a lease request (monotonic ms; any answer but a 502, 503 or
   * 504): it is within reach (see StocksService).
   */
  answeredAt?: number;

  constructor(
    private readonly http: HttpService,
    private readonly cache: VersionedLruCache<StockInfo>,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.url = `${config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '')}/${CatalogRoutes.lease}`;
    this.leaseMs = config.get('CACHE_LEASE_MS', { infer: true });
    this.heldMs = this.leaseMs;
    this.enabled = config.get('CACHE_ENABLED', { infer: true });
    this.id = frontendId({
      FRONTEND_ID: config.get('FRONTEND_ID', { infer: true }),
      HOST: config.get('HOST', { infer: true }),
      FRONTEND_PORT: config.get('FRONTEND_PORT', { infer: true }),
    });
  }

  /** This front end's id towards the catalog (see {@link frontendId}). */
  get frontendId(): string {
    return this.id;
  }

  /**
   * The longest the catalog says it may hold a lookup while a push of its stock becomes safe (its
   * last grant's `wait_ms`), if it said.
   */
  get catalogWaitMs(): number | undefined {
    return this.waitMs;
  }

  /**
   * This process's id, made at its start: the catalog grants the lease to one process of an id
   * at a time, and names it in its pushes (see LeaseRequestDto.instance).
   */
  readonly instance = randomUUID();

  /**
   * Whether the lease has not been asked for yet: it is, on the first lookup (a front end that
   * serves no lookups, or has no cache, holds no lease, and the catalog never waits for it).
   */
  get idle(): boolean {
    return this.first === undefined;
  }

  /** Starts renewing the lease; resolves once the first request has been answered (or failed). */
  start(): Promise<void> {
    this.first ??= this.enabled && !this.stopped ? this.loop() : Promise.resolve();
    return this.first;
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    const started = leaseClockMs();
    await this.renew();
    if (this.stopped) return;
    const period = Math.max(10, Math.floor(this.heldMs / 3));
    this.timer = setTimeout(() => void this.loop(), Math.max(0, period - (leaseClockMs() - started)));
  }

  /** One lease request; adopts its grant. Never throws. */
  async renew(): Promise<void> {
    const body: LeaseRequestDto = { frontend: this.id, instance: this.instance, ...(this.last && { catalog: this.last.catalog, applied: this.last.grant }) };
    const sentAt = leaseClockMs();
    this.firstAskedAt ??= sentAt;
    try {
      // An answer after the lease held would be too late to adopt anyway.
      const res = await this.http.axiosRef.post<LeaseGrant>(this.url, body, { timeout: this.heldMs });
      if (res.status < 502 || res.status > 504) this.answeredAt = monotonicNow();
      if (res.status === 409 && this.last === undefined && sentAt - this.firstAskedAt < 3 * this.leaseMs && PREDECESSOR.test(JSON.stringify(res.data))) {
        // Likely a restart: the lease is still its predecessor's, for at most a lease and margin.
        // Not a warning, unless it lasts (then another live process has this front end's id).
        this.lapsed = true;
        if (!this.toldPredecessor) this.logger.log('the catalog still leases the cache to another process of this front end (a restart?) until its lease ends; lookups bypass the cache meanwhile');
        this.toldPredecessor = true;
        return;
      }
      if (res.status !== 200 || typeof res.data?.lease_ms !== 'number' || !Array.isArray(res.data.invalidate)) {
        this.warn(`the catalog refused a cache lease (${res.status}: ${JSON.stringify(res.data).slice(0, 200)}); lookups bypass the cache`);
        return;
      }
      this.adopt(sentAt, res.data);
    } catch (err) {
      this.warn(`no cache lease from the catalog (${(err as Error).message}); lookups bypass the cache until it answers`);
    }
  }

  /** Applies a grant whose request left at `sentAt`. */
  adopt(sentAt: number, grant: LeaseGrant, now = leaseClockMs()): void {
    const { validUntil, late } = leaseFromGrant(sentAt, this.leaseMs, grant, now);
    const reset = this.last !== undefined && this.last.catalog !== grant.catalog;
    const cleared = this.cache.adoptLease(validUntil, grant.invalidate, reset, now, grantVolumes(grant));
    if (late) return; // not adopted: the catalog repeats its invalidations until one is acknowledged
    this.last = { catalog: grant.catalog, grant: grant.grant };
    this.heldMs = Math.min(this.leaseMs, grant.lease_ms);
    this.waitMs = Number.isSafeInteger(grant.wait_ms) && (grant.wait_ms as number) >= 0 ? grant.wait_ms : undefined;
    if (cleared && !this.lapsed) this.logger.warn('cache lease had lapsed (or the catalog restarted): cache cleared');
    this.lapsed = false;
  }

  private warn(message: string): void {
    this.lapsed = true;
    const now = leaseClockMs();
    if (now - this.warnedAt < 60_000) return;
    this.warnedAt = now;
    this.logger.warn(message);
  }
}
