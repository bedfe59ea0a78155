import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CACHE_LEASE_LIMITS, CatalogEnv, FrontendRoutes, InvalidateBatchDto, MAX_TRADE_BATCH } from '@app/contracts';
import { Batcher, HopClient, requestIdHeaders } from '@app/common';
import { LeaseSpanStore } from '../lease/lease-span.store';
import { FrontendLease, LeaseService, monotonicMs, sleepUntil } from '../lease/lease.service';
import { CatalogMetrics } from '../metrics/catalog.metrics';

/** The longest lease span any process can grant (the largest CACHE_LEASE_MS and LEASE_MARGIN_MS): a recorded span above it is not believed. */
const LONGEST_SPAN_MS = CACHE_LEASE_LIMITS.max + 60_000;

/** A stock to drop, and a trade volume above any it had before the change (see StocksService). */
interface Change {
  name: string;
  volume: number;
}

/** A push's outcome for each of its stocks: whether every front end got it, and when the trade may be acknowledged. */
interface PushOutcome {
  delivered: boolean;
  safe: Promise<void>;
}

/**
 * Server push: tells every front end that holds a cache lease to drop stocks from its cache.
 * Pushes are batched: the stocks of every trade decided while a push is under way go together
 * in the next one (`POST /rm {"stock_names":[…]}`, one request per front end), so a batch of
 * trades costs one push, not one per stock. Each stock goes with a trade volume above any it had
 * before the change (`"trade_volumes":[…]`, the highest of the push's trades of it): the front end
 * needs it to take a trade's answer into its cache (see VersionedLruCache.offer).
 *
 * A trade's push starts once it is decided, while its batch commits (see StocksService), so it
 * may reach a front end before the commit. That is safe: a fill already in flight then is
 * dropped by the front end's cache, and a lookup sent after it waits in the catalog until the
 * commit is over, so it reads the trade. The trade is acknowledged once both are done. Nor does
 * the catalog show the trade to anyone before every front end has dropped the stock from before
 * it: a lookup at the catalog waits for the stock's newest push to be safe (and for the
 * start-up fence; see StocksService), so that a client that read the trade through one front
 * end cannot then read the stock as it was before through another.
 *
 * Read-your-writes does not depend on a push arriving: a push that fails (timeout, refused,
 * non-200) holds the trade's acknowledgement until that front end's lease has certainly ended,
 * or until it has acknowledged a lease grant carrying the stocks (see {@link LeaseService}). The
 * wait is bounded by the lease (+ margin). A front end without a lease gets no push: it serves
 * nothing from its cache, and clears it when it gets a lease again.
 *
 * After a start, no trade — new, or a replay of one the previous process committed and may not
 * have pushed — is acknowledged before one lease + margin has passed: by then every lease an
 * earlier process granted has ended, and every front end holding a lease got it from this
 * process, which makes it clear its cache first. The lease + margin is the longest any process of
 * this catalog granted, as recorded in its file (see {@link LeaseSpanStore}): a process started
 * with a shorter `CACHE_LEASE_MS` than its predecessor's still waits out the predecessor's leases.
 */
@Injectable()
export class CacheInvalidationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CacheInvalidationService.name);
  private readonly timeoutMs: number;
  /** When this process started (monotonic ms): the leases of earlier processes were all granted before it. */
  private readonly startedAt = monotonicMs();
  /**
   * Monotonic ms before which no trade is acknowledged (leases of an earlier process): one lease
   * and margin of this process from its start, made longer at init if an earlier process's were
   * longer (see {@link onModuleInit}).
   */
  private fenceUntil: number;
  /** Lowers the recorded lease span to this process's own once the fence is over. */
  private shrink?: NodeJS.Timeout;
  /**
   * A push only carries stocks submitted before it started: a trade decided earlier is covered by it.
   * One push at a time (`maxInFlight: 1`): LeaseService.delivered forgets a pending stock that no
   * grant has carried yet, which is right only if no other push of that stock is under way — with
   * two at once, the first one delivered would forget the second one's change.
   */
  private readonly pushes = new Batcher<Change, PushOutcome>((changes, requestId) => this.push(changes, requestId), { maxBatch: MAX_TRADE_BATCH, maxInFlight: 1 });

  constructor(
    private readonly http: HopClient,
    private readonly metrics: CatalogMetrics,
    private readonly leases: LeaseService,
    private readonly spans: LeaseSpanStore,
    config: ConfigService<CatalogEnv, true>,
  ) {
    this.timeoutMs = config.get('INVALIDATION_TIMEOUT_MS', { infer: true });
    this.fenceUntil = this.startedAt + this.ownSpan;
  }

  /** The longest a lease this process grants may last after its last renewal: its lease and margin. */
  private get ownSpan(): number {
    return this.leases.leaseMs + this.leases.marginMs;
  }

  /**
   * Before any lease is granted: reads the longest lease span an earlier process recorded, makes
   * the fence last that long from this process's start if it is longer than this process's own,
   * and records the longer of the two, so that a process started during this fence waits as
   * long; grants name the longer wait meanwhile (see LeaseService.longestWaitMs). Once the fence is
   * over, no earlier process's lease is left, and the record comes down to this process's own span.
   */
  async onModuleInit(): Promise<void> {
    const own = this.ownSpan;
    const recorded = await this.spans.read();
    // A file from before the span was kept has none: its processes' leases are taken to have been this one's.
    if (recorded === undefined) this.logger.log(`no lease span recorded in the catalog's file yet: the start-up fence lasts this process's own (${own} ms)`);
    const earlier = Math.min(recorded ?? 0, LONGEST_SPAN_MS);
    const span = Math.max(own, earlier);
    if (span !== earlier) await this.spans.write(span);
    if (span === own) return;
    this.fenceUntil = this.startedAt + span;
    this.leases.fenceLasts(span);
    this.logger.log(`an earlier process of this catalog granted cache leases of up to ${earlier} ms (with margin), longer than this one's ${own} ms: trades wait that long from the start`);
    this.shrink = setTimeout(() => {
      this.leases.fenceLasts(0);
      this.spans.write(own).catch((err: Error) => this.logger.warn(`could not record the lease span: ${err.message}`));
    }, Math.max(0, this.fenceUntil - monotonicMs()));
    this.shrink.unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.shrink);
  }

  /**
   * True during the start-up fence: a trade committed before this process started (or since) may
   * not be safe to acknowledge yet (see {@link invalidate}).
   */
  get fenced(): boolean {
    return monotonicMs() < this.fenceUntil;
  }

  /**
   * Resolves when the start-up fence is over, or `undefined` once it is: until then, front ends
   * may serve stocks under leases an earlier process granted, from before trades it committed.
   */
  fenceEnd(): Promise<void> | undefined {
    const left = this.fenceUntil - monotonicMs();
    return left > 0 ? sleepUntil(this.fenceUntil) : undefined;
  }

  /** Resolves once any lease granted until now has ended: what a push whose outcome is unknown has to wait for. */
  leasesEnded(): Promise<void> {
    return sleepUntil(monotonicMs() + this.ownSpan);
  }

  /**
   * Pushes the invalidation of `stockName` to every front end holding a lease, in a push that
   * starts after this call, and resolves once the trade may be acknowledged: every such front end
   * got it, or can no longer serve the stock from before it. Resolves with whether every push
   * arrived. `volume`: a trade volume above any the stock had before the trade's commit. The push
   * carries the id of its first trade's request (`requestId`). The caller
   * may call this before the trade is committed, provided lookups of the stock wait for the
   * commit meanwhile (StocksService does), and acknowledges the trade only once both are done.
   */
  async invalidate(stockName: string, volume: number, requestId?: string): Promise<boolean> {
    const { delivered, safe } = await this.pushes.submit({ name: stockName, volume }, requestId);
    await safe;
    await this.fenceEnd();
    return delivered;
  }

  /** One push to each lease holder, in parallel; returns at once, the waits for failed ones in `safe`. */
  private async push(changes: Change[], requestId: string | undefined): Promise<PushOutcome[]> {
    const volumes = new Map<string, number>();
    for (const { name, volume } of changes) volumes.set(name, Math.max(volume, volumes.get(name) ?? 0));
    const body: InvalidateBatchDto = { stock_names: [...volumes.keys()], trade_volumes: [...volumes.values()] };
    const results = await Promise.all(this.leases.holders().map((lease) => this.pushTo(lease, body, requestId)));
    const delivered = results.every((r) => r === true);
    const waits = results.flatMap((r) => (r === true ? [] : [r.wait]));
    const outcome: PushOutcome = { delivered, safe: waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => undefined) };
    return changes.map(() => outcome);
  }

  /** `true` when delivered; else the wait until this front end cannot serve the stocks stale (not awaited here). */
  private async pushTo(lease: FrontendLease, body: InvalidateBatchDto, requestId: string | undefined): Promise<true | { wait: Promise<void> }> {
    const snapshot = this.leases.beforePush(lease, body.stock_names, body.trade_volumes);
    let delivered = false;
    try {
      // Named for its holder: another process answering at this URL refuses it (409), not 200.
      const res = await this.http.post(`${lease.url}/${FrontendRoutes.invalidate}`, addressed(body, lease), {
        timeoutMs: this.timeoutMs,
        headers: requestIdHeaders(requestId),
      });
      delivered = res.status === 200;
      if (!delivered) this.logger.warn(`invalidation of ${body.stock_names.join(', ')} at ${lease.url} answered ${res.status}; waiting for its lease`);
    } catch (err) {
      this.logger.warn(`invalidation of ${body.stock_names.join(', ')} not delivered to ${lease.url}: ${(err as Error).message}; waiting for its lease`);
    }
    this.metrics.invalidations.inc({ result: delivered ? 'delivered' : 'failed' }, body.stock_names.length);
    if (!delivered) return { wait: this.leases.whenSafe(lease, snapshot) };
    this.leases.delivered(lease, body.stock_names);
    return true;
  }
}

/** The push for `lease`'s holder: named for it (and its process), so that another process answering at its URL refuses it. */
function addressed(body: InvalidateBatchDto, lease: FrontendLease): InvalidateBatchDto {
  if (lease.holder === undefined) return body;
  return lease.instance === undefined ? { ...body, frontend: lease.holder } : { ...body, frontend: lease.holder, instance: lease.instance };
}
