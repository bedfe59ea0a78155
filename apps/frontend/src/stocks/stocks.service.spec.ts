import { ConfigService } from '@nestjs/config';
import { leaseClockMs, VersionedLruCache } from '@app/cache';
import { HopClient, HttpDrain, monotonicNow, StockNotFound, Unavailable } from '@app/common';
import { FrontendEnv, StockInfo } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient, CatalogOutage } from './catalog.client';
import { retryPause, StocksService } from './stocks.service';

const STOCK: StockInfo = { stock_name: 'Stock1', price: 1, quantity: 100, trade_volume: 0 };
const REFUSED = () => new Error('connect ECONNREFUSED 127.0.0.1:10001');

const config = (failover: number) =>
  ({ get: (key: keyof FrontendEnv) => ({ CATALOG_URL: 'http://127.0.0.1:10001', CACHE_LEASE_MS: 1000, FAILOVER_TIMEOUT_MS: failover })[key as string] }) as unknown as ConfigService<FrontendEnv, true>;

/** A catalog that gives `answers` in turn (an Error is thrown, as HopClient throws for no answer), then the stock; `tail` after they run out. */
function scripted(answers: (Error | { status: number; data?: unknown })[], tail: () => Error | { status: number; data?: unknown } = () => ({ status: 200, data: { data: STOCK } })) {
  const calls: { at: number; timeoutMs: number }[] = [];
  const hops = {
    get: async (_url: string, o: { timeoutMs: number }) => {
      calls.push({ at: monotonicNow(), timeoutMs: o.timeoutMs });
      const next = answers.length ? answers.shift()! : tail();
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as HopClient;
  return { hops, calls };
}

/** The front end's lookups over `hops`, with a cache that holds a lease for a minute; `stop()` begins the front end's drain. */
function service(hops: HopClient, failover: number) {
  const stopping = new AbortController();
  const drain = { stopping: stopping.signal } as HttpDrain;
  const lease = { idle: false, catalogWaitMs: undefined, answeredAt: undefined } as { idle: boolean; catalogWaitMs?: number; answeredAt?: number };
  const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
  cache.adoptLease(leaseClockMs() + 60_000, [], false);
  const leaseService = lease as unknown as LeaseService;
  const stocks = new StocksService(cache, new CatalogClient(hops, leaseService, config(1000)), leaseService, config(failover), drain);
  return { stocks, cache, lease, stop: () => stopping.abort() };
}

/** A catalog that refuses every try while `down.now` (an Error), else answers the stock; `calls` lists the stocks asked for. */
function switchable() {
  const down = { now: true };
  const calls: string[] = [];
  const hops = {
    get: async (_url: string, o: { query: { stock_name: string } }) => {
      calls.push(o.query.stock_name);
      if (down.now) throw REFUSED();
      return { status: 200, data: { data: { ...STOCK, stock_name: o.query.stock_name } } };
    },
  } as unknown as HopClient;
  return { hops, down, calls };
}

/**
 * A catalog that refuses the first try, then holds every later one until its signal ends it (as
 * HopClient ends an exchange); `signals` has each try's signal, undefined for none.
 */
function refusedThenHeld() {
  const signals: (AbortSignal | undefined)[] = [];
  const hops = {
    get: (_url: string, o: { signal?: AbortSignal }) => {
      signals.push(o.signal);
      if (signals.length === 1) return Promise.reject(REFUSED());
      return new Promise((_resolve, reject) => o.signal?.addEventListener('abort', () => reject(new DOMException('The operation was aborted', 'AbortError'))));
    },
  } as unknown as HopClient;
  return { hops, signals };
}

describe('stock lookups while the catalog is out', () => {
  it('ask again while the catalog is down or answers 503 (a restart), and answer the stock once it is back', async () => {
    const { hops, calls } = scripted([REFUSED(), REFUSED(), { status: 503, data: {} }, new Error('socket hang up')]);
    const { stocks } = service(hops, 15_000);
    const started = monotonicNow();
    await expect(stocks.lookup('Stock1')).resolves.toEqual(STOCK);
    expect(calls).toHaveLength(5);
    // Pauses of at least 25, 50, 100 and 200 ms between the tries (half of 50, 100, 200 and 400 ms,
    // see retryPause; a timer fires no earlier than asked, give or take a millisecond).
    for (let i = 1; i < calls.length; i++) expect(calls[i].at - calls[i - 1].at).toBeGreaterThanOrEqual(retryPause(i, 1) - 2);
    expect(calls[4].at - started).toBeGreaterThanOrEqual(375 - 8);
    // The first try waits as long as the catalog may hold a lookup (5 s + three leases), the retries what is left.
    expect(calls[0].timeoutMs).toBe(8000);
    for (const call of calls.slice(1)) expect(call.timeoutMs).toBeLessThanOrEqual(15_000);
  });

  it('give up with 503 and the last reason once FAILOVER_TIMEOUT_MS has passed since the lookup arrived, not before', async () => {
    const { hops, calls } = scripted([], REFUSED);
    const { stocks } = service(hops, 600);
    const started = monotonicNow();
    const err = await stocks.lookup('Stock1').catch((e: unknown) => e);
    const took = monotonicNow() - started;
    expect(err).toBeInstanceOf(CatalogOutage);
    expect(err).toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001' });
    expect(took).toBeGreaterThanOrEqual(600 - 2);
    // The last try is made at the deadline; each retry waits at least 0.5 s or what is left.
    expect(calls.at(-1)!.at - started).toBeGreaterThanOrEqual(600 - 2);
    for (const call of calls.slice(1)) expect(call.timeoutMs).toBeLessThanOrEqual(600);
  });

  it("a lookup that joins another's load keeps its own deadline: it is not given up with it", async () => {
    // Found by a review: the retries ran inside the cache's shared load, so a lookup arriving late
    // shared the first one's deadline and got 503 as soon as that one gave up.
    const { hops } = scripted([], REFUSED);
    const { stocks } = service(hops, 1000);
    const first = stocks.lookup('Stock1').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    const joinedAt = monotonicNow();
    const late = await stocks.lookup('Stock1').catch((e: unknown) => e);
    const waited = monotonicNow() - joinedAt;
    expect(await first).toBeInstanceOf(CatalogOutage);
    expect(late).toMatchObject({ status: 503 });
    expect(waited).toBeGreaterThanOrEqual(1000 - 2);
  });

  it('pause 50 ms before the first retry, doubling up to 400 ms, less up to half at random', () => {
    expect([1, 2, 3, 4, 5, 60].map((n) => retryPause(n, 0))).toEqual([50, 100, 200, 400, 400, 400]);
    expect([1, 2, 3, 4, 5, 60].map((n) => retryPause(n, 0.999))).toEqual([26, 51, 101, 201, 201, 201]);
    expect(retryPause(4, 0.5)).toBe(300);
  });

  it('concurrent misses still share one request to the catalog per try', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    const hops = {
      get: async () => {
        calls++;
        if (calls === 1) {
          await held;
          throw REFUSED();
        }
        return { status: 200, data: { data: STOCK } };
      },
    } as unknown as HopClient;
    const { stocks } = service(hops, 15_000);
    const lookups = [stocks.lookup('Stock1'), stocks.lookup('Stock1'), stocks.lookup('Stock1')];
    release();
    expect(await Promise.all(lookups)).toEqual([STOCK, STOCK, STOCK]);
    // One failed try, shared by all three; then their retries, 25–50 ms later each, share the next
    // (or find its answer in the cache).
    expect(calls).toBe(2);
  });

  it('once one has asked for FAILOVER_TIMEOUT_MS in vain, the catalog is out of reach: a lookup is asked once, one at a time, the others answered 503 at once', async () => {
    // Before, a front end cut off from the catalog held every lookup for FAILOVER_TIMEOUT_MS
    // before its 503, for as long as the partition lasted.
    let release!: () => void;
    let held: Promise<void> | undefined;
    const calls: string[] = [];
    const hops = {
      get: async (_url: string, o: { query: { stock_name: string } }) => {
        calls.push(o.query.stock_name);
        if (held) await held;
        throw REFUSED();
      },
    } as unknown as HopClient;
    const { stocks } = service(hops, 300);
    expect(stocks.catalogOutOfReach).toBe(false);
    await expect(stocks.lookup('Stock1')).rejects.toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001' });
    expect(stocks.catalogOutOfReach).toBe(true);
    const gaveUpAfter = calls.length;
    expect(gaveUpAfter).toBeGreaterThan(1);
    // Asked once, not again.
    await expect(stocks.lookup('Stock2')).rejects.toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001' });
    expect(calls.slice(gaveUpAfter)).toEqual(['Stock2']);
    // While one lookup is asking, another is answered at once, and the catalog is not asked for it.
    held = new Promise<void>((r) => (release = r));
    const asking = stocks.lookup('Stock3').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    const other = await stocks.lookup('Stock4').catch((e: unknown) => e);
    expect(other).toBeInstanceOf(CatalogOutage);
    expect((other as Error).message).toMatch(/^catalog out of reach for \d+\.\d s \(catalog unreachable: connect ECONNREFUSED 127\.0\.0\.1:10001\); another lookup is asking it$/);
    expect(calls.slice(gaveUpAfter)).toEqual(['Stock2', 'Stock3']);
    expect(stocks.shed).toBe(1);
    release();
    expect(await asking).toBeInstanceOf(CatalogOutage);
    expect(stocks.catalogOutOfReach).toBe(true);
  });

  it('the catalog answering again (a stock, or a 404) ends the outage: lookups ask again as before', async () => {
    for (const answer of [{ status: 200, data: { data: STOCK } }, { status: 404, data: {} }]) {
      const script: (Error | { status: number; data?: unknown })[] = [];
      const { hops, calls } = scripted(script, REFUSED);
      const { stocks } = service(hops, 200);
      await expect(stocks.lookup('Stock1')).rejects.toBeInstanceOf(CatalogOutage);
      // Out of reach: one try. It is answered, so the next lookup asks again while the catalog is out.
      script.push(answer);
      await stocks.lookup('Stock1').catch(() => undefined);
      expect(stocks.catalogOutOfReach).toBe(false);
      const before = calls.length;
      script.push(REFUSED(), REFUSED(), { status: 200, data: { data: STOCK } });
      await expect(stocks.lookup('Stock5')).resolves.toEqual(STOCK);
      expect(calls.length - before).toBe(3);
    }
  });

  it('an answer to a lease request ends the outage too: the catalog is back, and a lookup rides out its next restart', async () => {
    // Found by a review: only a lookup's own answer ended it, so a front end that served cache
    // hits after a partition healed answered 503 at once on a later, short catalog restart.
    const { hops, down, calls } = switchable();
    const { stocks, lease } = service(hops, 300);
    await expect(stocks.lookup('Stock1')).rejects.toBeInstanceOf(CatalogOutage);
    down.now = false;
    lease.answeredAt = monotonicNow() + 1; // a lease grant, after the last failed try
    // A short restart: refused for 100 ms, then back. The lookup asks again, as before the outage.
    down.now = true;
    setTimeout(() => (down.now = false), 100);
    const before = calls.length;
    await expect(stocks.lookup('Stock2')).resolves.toMatchObject({ stock_name: 'Stock2' });
    expect(calls.length - before).toBeGreaterThan(1);
  });

  it('the outage is forgotten FAILOVER_TIMEOUT_MS after its last failed try: a later restart is ridden out', async () => {
    const { hops, down } = switchable();
    const { stocks } = service(hops, 200);
    await expect(stocks.lookup('Stock1')).rejects.toBeInstanceOf(CatalogOutage);
    await new Promise((r) => setTimeout(r, 250)); // no lookup meanwhile: nothing failed
    setTimeout(() => (down.now = false), 100);
    await expect(stocks.lookup('Stock2')).resolves.toMatchObject({ stock_name: 'Stock2' });
  });

  it('a lookup that gives up after the catalog answered another lookup does not make it out of reach', async () => {
    // Found by a review: a retry timed out after its deadline, when another lookup had its answer.
    let slowFails = true;
    const { down, calls } = switchable();
    const hops = {
      get: async (_url: string, o: { query: { stock_name: string } }) => {
        if (o.query.stock_name === 'Stock1' && slowFails) {
          await new Promise((r) => setTimeout(r, 100));
          throw new Error('The operation was aborted due to timeout');
        }
        calls.push(o.query.stock_name);
        if (down.now) throw REFUSED();
        return { status: 200, data: { data: STOCK } };
      },
    } as unknown as HopClient;
    const { stocks } = service(hops, 250);
    const first = stocks.lookup('Stock1').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    down.now = false;
    await expect(stocks.lookup('Stock2')).resolves.toEqual(STOCK);
    expect(await first).toBeInstanceOf(CatalogOutage);
    slowFails = false;
    // Not out of reach: a lookup while the catalog blips asks again rather than once.
    down.now = true;
    setTimeout(() => (down.now = false), 60);
    await expect(stocks.lookup('Stock3')).resolves.toEqual(STOCK);
  });

  it('any answer but a 502, 503 or 504 ends the outage, a 500 too; a failed try keeps it, with its reason', async () => {
    const script: (Error | { status: number; data?: unknown })[] = [];
    const { hops } = scripted(script, REFUSED);
    const { stocks } = service(hops, 200);
    await expect(stocks.lookup('Stock1')).rejects.toBeInstanceOf(CatalogOutage);
    script.push(new Error('socket hang up'));
    await expect(stocks.lookup('Stock1')).rejects.toMatchObject({ message: 'catalog unreachable: socket hang up' });
    // The outage's reason is the last failed try's.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = { get: hops.get };
    (hops as unknown as { get: unknown }).get = async (...a: unknown[]) => {
      await held;
      return (slow.get as (...x: unknown[]) => unknown)(...a);
    };
    const probe = stocks.lookup('Stock2').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    await expect(stocks.lookup('Stock3')).rejects.toMatchObject({ message: expect.stringMatching(/\(catalog unreachable: socket hang up\); another lookup is asking it$/) });
    script.push({ status: 500, data: {} });
    release();
    expect(await probe).toBeInstanceOf(Unavailable);
    // The 500 was an answer: the next lookup asks again while the catalog is out (3 tries here).
    script.push(REFUSED(), REFUSED(), { status: 200, data: { data: STOCK } });
    await expect(stocks.lookup('Stock4')).resolves.toEqual(STOCK);
  });

  it('do not ask again after an answer another try cannot change: a 404, a 500', async () => {
    for (const [status, kind] of [
      [404, StockNotFound],
      [500, Unavailable],
    ] as const) {
      const { hops, calls } = scripted([{ status, data: {} }]);
      await expect(service(hops, 15_000).stocks.lookup('Stock1')).rejects.toBeInstanceOf(kind);
      expect(calls).toHaveLength(1);
    }
  });

  it('once the front end begins to drain, a lookup waiting to ask again is answered 503 at once, and asks no more', async () => {
    const { hops, calls } = scripted([], REFUSED);
    const { stocks, stop } = service(hops, 15_000);
    const started = monotonicNow();
    const answer = stocks.lookup('Stock1').catch((e: unknown) => e);
    while (calls.length < 3) await new Promise((r) => setTimeout(r, 5));
    stop();
    const asked = calls.length;
    const err = await answer;
    expect(err).toBeInstanceOf(CatalogOutage);
    expect(err).toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001; this front end is shutting down: ask another' });
    // Answered in the pause after the tries so far, not at the 15 s deadline.
    expect(monotonicNow() - started).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toHaveLength(asked);
    // Not out of reach: the lookup gave up because of the drain, not because the catalog stayed down.
    expect(stocks.catalogOutOfReach).toBe(false);
  });

  it('once the front end begins to drain, a retry waiting for a catalog that does not answer (paused, cut off) ends at once: 503 with the reason it retried', async () => {
    const { hops, signals: calls } = refusedThenHeld();
    const { stocks, stop } = service(hops, 15_000);
    const answer = stocks.lookup('Stock1').catch((e: unknown) => e);
    while (calls.length < 2) await new Promise((r) => setTimeout(r, 5));
    // The first try has no signal: the drain ends only retries.
    expect(calls.map((signal) => signal !== undefined)).toEqual([false, true]);
    stop();
    expect(await answer).toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001; this front end is shutting down: ask another' });
    expect(calls).toHaveLength(2);
    expect(stocks.catalogOutOfReach).toBe(false);
  });

  it("at the drain, a retry that shares another lookup's first try is answered at once; that first try goes on, and gets the stock", async () => {
    let answer!: (a: { status: number; data: unknown }) => void;
    let asked = 0;
    const hops = {
      get: () => {
        asked++;
        // The first lookup's first try is refused; the second lookup's first try is held.
        return asked === 1 ? Promise.reject(REFUSED()) : new Promise((r) => (answer = r));
      },
    } as unknown as HopClient;
    const { stocks, stop, cache } = service(hops, 15_000);
    const retrying = stocks.lookup('Stock1').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    const first = stocks.lookup('Stock1');
    // The first lookup's retry (after its 25–50 ms pause) joins the second's try, asking nothing new:
    // a third miss, and no third request.
    while (cache.stats().misses < 3) await new Promise((r) => setTimeout(r, 5));
    expect(asked).toBe(2);
    stop();
    expect(await retrying).toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001; this front end is shutting down: ask another' });
    answer({ status: 200, data: { data: STOCK } });
    await expect(first).resolves.toEqual(STOCK);
    expect(asked).toBe(2);
  });

  it("at the drain, a first try that shares a retry's request is answered at once: the catalog had not answered yet", async () => {
    const { hops, signals } = refusedThenHeld();
    const { stocks, stop } = service(hops, 15_000);
    const retrying = stocks.lookup('Stock1').catch((e: unknown) => e);
    while (signals.length < 2) await new Promise((r) => setTimeout(r, 5));
    const joining = stocks.lookup('Stock1').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    stop();
    expect(await retrying).toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001; this front end is shutting down: ask another' });
    expect(await joining).toMatchObject({ status: 503, message: 'catalog had not answered yet; this front end is shutting down: ask another' });
    expect(signals).toHaveLength(2);
    expect(stocks.catalogOutOfReach).toBe(false);
  });

  it('a lookup that arrives during the drain is asked once, and answered at once', async () => {
    const { hops, calls } = scripted([REFUSED()]);
    const { stocks, stop } = service(hops, 15_000);
    stop();
    await expect(stocks.lookup('Stock1')).rejects.toMatchObject({ status: 503, message: expect.stringContaining('this front end is shutting down') });
    expect(calls).toHaveLength(1);
    // An answer needs no retry: a lookup the catalog answers is served as ever.
    await expect(stocks.lookup('Stock1')).resolves.toEqual(STOCK);
  });
});
