import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpService } from '@nestjs/axios';
import { leaseClockMs, VersionedLruCache } from '@app/cache';
import { FrontendEnv, LeaseGrant, StockInfo } from '@app/contracts';
import { frontendId, grantVolumes, leaseFromGrant, LeaseService } from './lease.service';

const stock = (name: string, quantity = 100, trade_volume = 0): StockInfo => ({ stock_name: name, price: 1, trade_volume, quantity });

function config(values: Partial<FrontendEnv>): ConfigService<FrontendEnv, true> {
  const all: Partial<FrontendEnv> = { CATALOG_URL: 'http://127.0.0.1:10001', CACHE_LEASE_MS: 1000, CACHE_ENABLED: true, HOST: '127.0.0.1', FRONTEND_PORT: 30001, ...values };
  return { get: (key: keyof FrontendEnv) => all[key] } as unknown as ConfigService<FrontendEnv, true>;
}

const grant = (over: Partial<LeaseGrant> = {}): LeaseGrant => ({ lease_ms: 1000, catalog: 'cat-1', grant: 1, invalidate: [], ...over });

function setup(leaseMs = 1000) {
  // Stamped by trade volume, as the front end's cache is (StocksModule).
  const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
  const lease = new LeaseService({} as HttpService, cache, config({ CACHE_LEASE_MS: leaseMs }));
  /** Fills `name` as a lookup would (under whatever lease holds now). */
  const fill = (name: string, quantity = 100, volume = 0) => cache.getOrLoad(name, async () => stock(name, quantity, volume));
  return { cache, lease, fill };
}

describe('front end lease arithmetic', () => {
  it('counts the lease from when its request was sent, for the shorter of ours and the catalog’s', () => {
    expect(leaseFromGrant(5000, 1000, { lease_ms: 1000 }, 5100)).toEqual({ validUntil: 6000, late: false });
    expect(leaseFromGrant(5000, 1000, { lease_ms: 700 }, 5100)).toEqual({ validUntil: 5700, late: false });
    expect(leaseFromGrant(5000, 400, { lease_ms: 1000 }, 5100)).toEqual({ validUntil: 5400, late: false });
  });

  it('gives a late answer a shorter lease, and one that arrives after its end none', () => {
    expect(leaseFromGrant(5000, 1000, { lease_ms: 1000 }, 5900)).toEqual({ validUntil: 6000, late: false });
    expect(leaseFromGrant(5000, 1000, { lease_ms: 1000 }, 6000)).toEqual({ validUntil: 6000, late: true });
    const { cache, lease } = setup();
    lease.adopt(5000, grant(), 6500);
    expect(cache.holdsLease(6500)).toBe(false);
  });

  it('serves nothing from the cache without a lease, and serves from memory under one', async () => {
    const { cache, lease, fill } = setup();
    await fill('Stock1');
    await fill('Stock1');
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 2, size: 0 });
    lease.adopt(leaseClockMs(), grant());
    await fill('Stock1');
    await fill('Stock1');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 3, size: 1 });
  });

  it('asks for its lease as this process: its id and a process id of its own, then the last grant it adopted', async () => {
    const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
    const bodies: unknown[] = [];
    const http = { axiosRef: { post: async (_url: string, body: unknown) => (bodies.push(body), { status: 200, data: grant({ grant: bodies.length }) }) } };
    const lease = new LeaseService(http as unknown as HttpService, cache, config({}));
    await lease.renew();
    await lease.renew();
    expect(bodies).toEqual([
      { frontend: 'http://127.0.0.1:30001', instance: lease.instance },
      { frontend: 'http://127.0.0.1:30001', instance: lease.instance, catalog: 'cat-1', applied: 1 },
    ]);
    const other = new LeaseService(http as unknown as HttpService, cache, config({}));
    expect(other.frontendId).toBe(lease.frontendId);
    expect(other.instance).not.toBe(lease.instance);
  });

  it('notes when the catalog last answered a lease request (any answer but a 502, 503 or 504): lookups take it as in reach', async () => {
    const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
    const answers: (() => unknown)[] = [
      () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:10001');
      },
      () => ({ status: 503, data: {} }),
      () => ({ status: 409, data: { message: 'no' } }),
      () => ({ status: 200, data: grant() }),
    ];
    const http = { axiosRef: { post: async () => answers.shift()!() } };
    const lease = new LeaseService(http as unknown as HttpService, cache, config({}));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await lease.renew();
    await lease.renew();
    warn.mockRestore();
    expect(lease.answeredAt).toBeUndefined();
    const before = Date.now();
    await lease.renew();
    expect(lease.answeredAt).toBeGreaterThanOrEqual(before);
    const refused = lease.answeredAt!;
    await new Promise((r) => setTimeout(r, 5));
    await lease.renew();
    expect(lease.answeredAt).toBeGreaterThan(refused);
  });

  it('renews every third of the lease it holds: the catalog’s, when shorter than its own', async () => {
    jest.useFakeTimers({ doNotFake: ['performance', 'Date'] });
    try {
      const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
      let asked = 0;
      const http = { axiosRef: { post: async () => (asked++, { status: 200, data: grant({ grant: asked, lease_ms: 300 }) }) } };
      const lease = new LeaseService(http as unknown as HttpService, cache, config({ CACHE_LEASE_MS: 3000 }));
      await lease.start();
      expect(asked).toBe(1);
      await jest.advanceTimersByTimeAsync(100);
      expect(asked).toBe(2);
      await jest.advanceTimersByTimeAsync(200);
      expect(asked).toBe(4);
      lease.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('says once, without a warning, that the lease is still an earlier process’s after a restart, then takes its own', async () => {
    const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
    const refusal = { status: 409, data: { error: { message: 'http://127.0.0.1:30001 is held by another process of front end http://127.0.0.1:30001 until its lease ends (a restart, or two processes with one id); this one gets none' } } };
    const answers = [refusal, refusal, { status: 200, data: grant() }];
    const http = { axiosRef: { post: async () => answers.shift() } };
    const lease = new LeaseService(http as unknown as HttpService, cache, config({}));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      await lease.renew();
      await lease.renew();
      expect(cache.holdsLease()).toBe(false);
      await lease.renew();
      expect(cache.holdsLease()).toBe(true);
      expect(warn).not.toHaveBeenCalled();
      expect(log.mock.calls.filter(([m]) => /another process of this front end/.test(String(m)))).toHaveLength(1);
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });

  it('warns when another process keeps this front end’s lease past three leases: two live processes with one id', async () => {
    const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
    const refusal = { status: 409, data: { error: { message: 'http://127.0.0.1:30001 is held by another process of front end http://127.0.0.1:30001 until its lease ends' } } };
    const http = { axiosRef: { post: async () => refusal } };
    const lease = new LeaseService(http as unknown as HttpService, cache, config({ CACHE_LEASE_MS: 50 }));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      await lease.renew();
      expect(warn).not.toHaveBeenCalled();
      await new Promise((r) => setTimeout(r, 200));
      await lease.renew();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/refused a cache lease \(409/);
      expect(cache.holdsLease()).toBe(false);
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });

  it('remembers how long the catalog says it may hold a lookup (a grant’s wait_ms), when the grant says it well', () => {
    const { lease } = setup();
    expect(lease.catalogWaitMs).toBeUndefined();
    lease.adopt(leaseClockMs(), grant({ grant: 1, wait_ms: 2200 }));
    expect(lease.catalogWaitMs).toBe(2200);
    lease.adopt(leaseClockMs(), grant({ grant: 2, wait_ms: -1 }));
    expect(lease.catalogWaitMs).toBeUndefined();
    lease.adopt(leaseClockMs(), grant({ grant: 3 })); // an older catalog
    expect(lease.catalogWaitMs).toBeUndefined();
  });

  it('applies a grant’s invalidations before it adopts the lease', async () => {
    const { cache, lease, fill } = setup();
    lease.adopt(leaseClockMs(), grant({ grant: 1 }));
    await fill('Stock1', 100);
    await fill('Stock2', 100);
    lease.adopt(leaseClockMs(), grant({ grant: 2, invalidate: ['Stock1'] }));
    expect(cache.peek('Stock1')).toBeUndefined();
    expect(cache.peek('Stock2')).toBeDefined();
    expect(await fill('Stock1', 95)).toMatchObject({ quantity: 95 });
  });

  it('passes a grant’s trade volumes on: the trade’s answer is still taken, and an entry that shows the trade is kept', async () => {
    const { cache, lease, fill } = setup();
    lease.adopt(leaseClockMs(), grant({ grant: 1 }));
    await fill('Stock4', 100, 0);
    await fill('Stock5', 100, 0);
    // A trade of Stock5 (to volume 5) was answered and taken just before the renewal's answer arrived.
    lease.adopt(leaseClockMs(), grant({ grant: 2, invalidate: ['Stock5'] }));
    expect(cache.offer('Stock5', stock('Stock5', 95, 5))).toBe(false); // (without volumes: the floor is unknown)
    await fill('Stock5', 95, 5);
    // Renewals answered while the pushes of trades of Stock4 (to 5) and Stock5 (to 5) were under way.
    lease.adopt(leaseClockMs(), grant({ grant: 3, invalidate: ['Stock4', 'Stock5'], trade_volumes: [5, 5] }));
    expect(cache.peek('Stock4')).toBeUndefined(); // older than its trade: dropped
    expect(cache.peek('Stock5')).toMatchObject({ trade_volume: 5 }); // shows its trade already: kept
    expect(cache.offer('Stock4', stock('Stock4', 95, 5))).toBe(true); // Stock4's trade's answer
    expect(cache.offer('Stock4', stock('Stock4', 100, 4))).toBe(false); // (anything older is not)
  });

  it('ignores malformed trade volumes in a grant: its stocks are invalidated as if it had none', async () => {
    const malformed: unknown[] = [[5], [5, 5, 5], [-1, 5], [5, 1.5], [5, '5'], [5, null], [5, 2 ** 53], '5,5', 5, null, {}];
    for (const trade_volumes of malformed) {
      const { cache, lease, fill } = setup();
      lease.adopt(leaseClockMs(), grant({ grant: 1 }));
      await fill('Stock4', 100, 5);
      await fill('Stock5', 100, 9);
      lease.adopt(leaseClockMs(), grant({ grant: 2, invalidate: ['Stock4', 'Stock5'], trade_volumes: trade_volumes as number[] }));
      const seen = { trade_volumes, Stock4: cache.peek('Stock4'), Stock5: cache.peek('Stock5'), offer: cache.offer('Stock4', stock('Stock4', 100, 6)) };
      expect(seen).toEqual({ trade_volumes, Stock4: undefined, Stock5: undefined, offer: false });
    }
    expect(grantVolumes({ invalidate: ['Stock4', 'Stock5'], trade_volumes: [0, 5] })).toEqual([0, 5]);
    expect(grantVolumes({ invalidate: ['Stock4'], trade_volumes: [2 ** 53] })).toBeUndefined();
    expect(grantVolumes({ invalidate: ['Stock4'] })).toBeUndefined();
  });

  it('drops a grant’s invalidations even from an answer too late to adopt', async () => {
    const { cache, lease, fill } = setup();
    lease.adopt(leaseClockMs(), grant({ grant: 1 }));
    await fill('Stock1');
    lease.adopt(leaseClockMs() - 5000, grant({ grant: 2, invalidate: ['Stock1'] }));
    expect(cache.peek('Stock1')).toBeUndefined();
  });

  it('clears the whole cache when it gets a lease again after a lapse', async () => {
    const { cache, lease, fill } = setup();
    const t0 = leaseClockMs();
    lease.adopt(t0, grant({ grant: 1 }), t0);
    await fill('Stock1');
    expect(cache.stats().size).toBe(1);
    // Renewed in time: kept.
    lease.adopt(t0 + 300, grant({ grant: 2 }), t0 + 310);
    expect(cache.stats().size).toBe(1);
    // The lease (until t0 + 1300) lapses; the next grant clears everything first.
    lease.adopt(t0 + 1400, grant({ grant: 3 }), t0 + 1410);
    expect(cache.stats().size).toBe(0);
    expect(cache.holdsLease(t0 + 1500)).toBe(true);
  });

  it('clears the whole cache on a grant from another catalog process, even without a lapse', async () => {
    const { cache, lease, fill } = setup();
    lease.adopt(leaseClockMs(), grant({ grant: 1, catalog: 'cat-1' }));
    await fill('Stock1');
    lease.adopt(leaseClockMs(), grant({ grant: 1, catalog: 'cat-2' }));
    expect(cache.stats().size).toBe(0);
  });

  it('drops a fill that was in flight when the cache was cleared', async () => {
    const { cache, lease } = setup();
    const t0 = leaseClockMs();
    lease.adopt(t0, grant({ grant: 1 }), t0);
    let release!: () => void;
    const loading = cache.getOrLoad('Stock1', () => new Promise<StockInfo>((r) => (release = () => r(stock('Stock1', 100)))));
    lease.adopt(t0, grant({ grant: 2, catalog: 'cat-2' }), t0 + 1);
    release();
    await loading;
    expect(cache.peek('Stock1')).toBeUndefined();
  });

  it('names itself by its address and port, 127.0.0.1 for a wildcard bind, or FRONTEND_ID', () => {
    expect(frontendId({ HOST: '10.0.0.5', FRONTEND_PORT: 30002 })).toBe('http://10.0.0.5:30002');
    expect(frontendId({ HOST: '0.0.0.0', FRONTEND_PORT: 30001 })).toBe('http://127.0.0.1:30001');
    expect(frontendId({ HOST: '0.0.0.0', FRONTEND_PORT: 30001, FRONTEND_ID: 'http://fe-a:30001/' })).toBe('http://fe-a:30001');
  });
});
