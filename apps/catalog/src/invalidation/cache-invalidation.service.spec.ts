import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Registry } from 'prom-client';
import type { HopClient } from '@app/common';
import { CatalogEnv, InvalidateBatchDto, REQUEST_ID_HEADER, validateEnv } from '@app/contracts';
import type { LeaseSpanStore } from '../lease/lease-span.store';
import { LeaseService, monotonicMs } from '../lease/lease.service';
import { CatalogMetrics } from '../metrics/catalog.metrics';
import { CacheInvalidationService } from './cache-invalidation.service';

const A = 'http://127.0.0.1:30001';
const B = 'http://127.0.0.1:30002';
/**
 * A grant received this far in the future ends after any test's time-out: within a test only an
 * acknowledgement can end a wait on it (and a failing test leaves a timer of at most this long).
 */
const LATER = 20_000;

type Answer = 'ok' | 'down' | 503;

/**
 * Pushes to two front ends, A and B, through a fake HTTP client that records each push and answers
 * as the test says. Leases are the real LeaseService (50 ms leases, no margin, so the start-up
 * fence passes quickly; the tests of the fence itself take 1 s, so that a busy machine cannot end
 * it before they look); the leases the tests grant are received "later" (the grant's `now`), so
 * that they last as long as a test needs.
 */
function setup(leaseMs = 50) {
  const config = new ConfigService(
    validateEnv(CatalogEnv, { FRONTEND_URLS: `${A},${B}`, CACHE_LEASE_MS: String(leaseMs), LEASE_MARGIN_MS: '0', INVALIDATION_TIMEOUT_MS: '50' }),
  ) as unknown as ConfigService<CatalogEnv, true>;
  const leases = new LeaseService(config);
  const registry = new Registry();
  const metrics = new CatalogMetrics(registry);
  const answers: Record<string, Answer> = { [A]: 'ok', [B]: 'ok' };
  const pushes: { url: string; body: InvalidateBatchDto; requestId?: string }[] = [];
  const http = {
    post: async (url: string, body: InvalidateBatchDto, options: { headers?: Record<string, string> }) => {
      const frontend = url.replace(/\/rm$/, '');
      pushes.push({ url, body, requestId: options.headers?.[REQUEST_ID_HEADER] });
      const answer = answers[frontend];
      if (answer === 'down') throw new Error('connect ECONNREFUSED');
      return { status: answer === 'ok' ? 200 : answer, data: {} };
    },
  } as unknown as HopClient;
  const spans = new MemorySpans();
  const invalidation = new CacheInvalidationService(http, metrics, leases, spans as unknown as LeaseSpanStore, config);
  const grant = (url: string, applied?: number) => leases.grant(url, applied === undefined ? undefined : leases.instance, applied, monotonicMs() + LATER);
  const counted = async () => Object.fromEntries((await metrics.invalidations.get()).values.map((v) => [v.labels.result, v.value]));
  return { invalidation, leases, answers, pushes, grant, counted, spans };
}

/** The catalog file's record of the longest lease span (LeaseSpanStore), in memory, with every value written. */
class MemorySpans {
  value?: number;
  readonly written: number[] = [];
  async read(): Promise<number | undefined> {
    return this.value;
  }
  async write(spanMs: number): Promise<void> {
    this.value = spanMs;
    this.written.push(spanMs);
  }
}

/** Resolves once `done()` holds, polling every 10 ms for up to 2 s. */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** Whether `p` has settled after pending callbacks and I/O have had their turn. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('CacheInvalidationService (pushes to the front ends that hold a cache lease)', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('is fenced from its start for one lease and margin, and says when every lease granted so far has ended', async () => {
    const { invalidation } = setup(1000);
    expect(invalidation.fenced).toBe(true);
    await invalidation.leasesEnded();
    expect(invalidation.fenced).toBe(false);
  });

  it('says when its start-up fence is over, and nothing once it is', async () => {
    const { invalidation } = setup(1000);
    const end = invalidation.fenceEnd();
    expect(end).toBeDefined();
    expect(await settled(end as Promise<void>)).toBe(false);
    await end;
    expect(invalidation.fenced).toBe(false);
    expect(invalidation.fenceEnd()).toBeUndefined();
  });

  it('records its own lease span before granting any, when the file has none or a shorter one', async () => {
    for (const recorded of [undefined, 500]) {
      const { invalidation, leases, spans, grant } = setup(1000);
      spans.value = recorded;
      await invalidation.onModuleInit();
      expect(spans.written).toEqual([1000]);
      expect(grant(A).wait_ms).toBe(50 + 1000);
      await invalidation.leasesEnded();
      expect(invalidation.fenced).toBe(false);
      expect(leases.longestWaitMs).toBe(1050);
    }
  });

  it("waits out an earlier process's longer leases: the fence lasts its span, grants name the longer wait, and the record comes down after", async () => {
    const { invalidation, leases, spans, grant } = setup(100);
    spans.value = 1500;
    await invalidation.onModuleInit();
    expect(spans.written).toEqual([]);
    expect(grant(A).wait_ms).toBe(50 + 1500);
    await invalidation.leasesEnded();
    // Its own lease and margin are over; the earlier process's are not.
    expect(invalidation.fenced).toBe(true);
    const end = invalidation.fenceEnd();
    expect(end).toBeDefined();
    await end;
    expect(invalidation.fenced).toBe(false);
    await waitUntil(() => spans.written.length > 0);
    expect(spans.written).toEqual([100]);
    expect(leases.longestWaitMs).toBe(50 + 100);
    // A process started now: its own span is all there is to wait out.
    const next = setup(100);
    next.spans.value = spans.value;
    await next.invalidation.onModuleInit();
    expect(next.spans.written).toEqual([]);
    expect(next.leases.longestWaitMs).toBe(150);
  });

  it('keeps the longer span recorded while its fence lasts, so that a process started meanwhile waits as long', async () => {
    const { invalidation, spans } = setup(100);
    spans.value = 1500;
    await invalidation.onModuleInit();
    invalidation.onApplicationShutdown(); // killed during its fence
    await new Promise((r) => setTimeout(r, 1600));
    expect(spans.value).toBe(1500);
  });

  it('pushes to no one while no front end holds a lease', async () => {
    const { invalidation, pushes } = setup();
    await expect(invalidation.invalidate('Stock1', 1)).resolves.toBe(true);
    expect(pushes).toEqual([]);
  });

  it('pushes to every lease holder, named in the push, with the request id, and clears what the next grant would carry', async () => {
    const { invalidation, pushes, grant, counted } = setup();
    grant(A);
    grant(B);
    await expect(invalidation.invalidate('Stock3', 7, 'req-1')).resolves.toBe(true);
    expect(pushes).toEqual([
      { url: `${A}/rm`, body: { stock_names: ['Stock3'], trade_volumes: [7], frontend: A }, requestId: 'req-1' },
      { url: `${B}/rm`, body: { stock_names: ['Stock3'], trade_volumes: [7], frontend: B }, requestId: 'req-1' },
    ]);
    expect(grant(A).invalidate).toEqual([]);
    expect(await counted()).toEqual({ delivered: 2 });
  });

  it('names the lease holder\'s process in its push, when the front end named one', async () => {
    const { invalidation, pushes, leases } = setup();
    leases.grant(A, undefined, undefined, monotonicMs() + LATER, 'proc-a');
    await invalidation.invalidate('Stock3', 7, 'req-1');
    expect(pushes).toEqual([{ url: `${A}/rm`, body: { stock_names: ['Stock3'], trade_volumes: [7], frontend: A, instance: 'proc-a' }, requestId: 'req-1' }]);
  });

  it('sends the stocks of trades committed together in one push per front end, each stock once with its highest volume', async () => {
    const { invalidation, pushes, grant } = setup();
    grant(A);
    const all = Promise.all([invalidation.invalidate('Stock1', 4, 'r1'), invalidation.invalidate('Stock2', 9, 'r2'), invalidation.invalidate('Stock1', 6, 'r3')]);
    await expect(all).resolves.toEqual([true, true, true]);
    expect(pushes).toEqual([{ url: `${A}/rm`, body: { stock_names: ['Stock1', 'Stock2'], trade_volumes: [6, 9], frontend: A }, requestId: 'r1' }]);
  });

  it('holds the trade after a push that did not arrive until that front end acknowledges a grant carrying the stock', async () => {
    const { invalidation, answers, grant, counted } = setup();
    await invalidation.invalidate('warm-up', 1); // past the start-up fence, so only the lease can hold what follows
    const first = grant(B);
    grant(A);
    answers[B] = 'down';
    const trade = invalidation.invalidate('Stock5', 11);
    expect(await settled(trade)).toBe(false);
    // B renews, acknowledging only the grant from before the push: it gets Stock5 to drop, with the
    // volume the push named, and the trade still waits.
    const carrying = grant(B, first.grant);
    expect(carrying.invalidate).toEqual(['Stock5']);
    expect(carrying.trade_volumes).toEqual([11]);
    expect(await settled(trade)).toBe(false);
    // B acknowledges the grant that carried Stock5: it has dropped it, the trade may be acknowledged.
    grant(B, carrying.grant);
    await expect(trade).resolves.toBe(false);
    expect(await counted()).toEqual({ delivered: 1, failed: 1 });
  });

  it('treats a push answered with an error status like one that did not arrive', async () => {
    const { invalidation, answers, grant } = setup();
    await invalidation.invalidate('warm-up', 1);
    const first = grant(A);
    answers[A] = 503;
    const trade = invalidation.invalidate('Stock2', 1);
    expect(await settled(trade)).toBe(false);
    const carrying = grant(A, first.grant);
    expect(carrying.invalidate).toEqual(['Stock2']);
    grant(A, carrying.grant);
    await expect(trade).resolves.toBe(false);
  });
});
