import { ConfigService } from '@nestjs/config';
import { HttpService } from '@nestjs/axios';
import { VersionedLruCache } from '@app/cache';
import { FrontendEnv, LeaseGrant, StockInfo } from '@app/contracts';
import { frontendId, leaseFromGrant, LeaseService } from './lease.service';

const stock = (name: string, quantity = 100): StockInfo => ({ stock_name: name, price: 1, trade_volume: 0, quantity });

function config(values: Partial<FrontendEnv>): ConfigService<FrontendEnv, true> {
  const all: Partial<FrontendEnv> = { CATALOG_URL: 'http://127.0.0.1:10001', CACHE_LEASE_MS: 1000, CACHE_ENABLED: true, HOST: '127.0.0.1', FRONTEND_PORT: 30001, ...values };
  return { get: (key: keyof FrontendEnv) => all[key] } as unknown as ConfigService<FrontendEnv, true>;
}

const grant = (over: Partial<LeaseGrant> = {}): LeaseGrant => ({ lease_ms: 1000, catalog: 'cat-1', grant: 1, invalidate: [], ...over });

function setup(leaseMs = 1000) {
  const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true });
  const lease = new LeaseService({} as HttpService, cache, config({ CACHE_LEASE_MS: leaseMs }));
  /** Fills `name` as a lookup would (under whatever lease holds now). */
  const fill = (name: string, quantity = 100) => cache.getOrLoad(name, async () => stock(name, quantity));
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
    lease.adopt(performance.now(), grant());
    await fill('Stock1');
    await fill('Stock1');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 3, size: 1 });
  });

  it('applies a grant’s invalidations before it adopts the lease', async () => {
    const { cache, lease, fill } = setup();
    lease.adopt(performance.now(), grant({ grant: 1 }));
    await fill('Stock1', 100);
    await fill('Stock2', 100);
    lease.adopt(performance.now(), grant({ grant: 2, invalidate: ['Stock1'] }));
    expect(cache.peek('Stock1')).toBeUndefined();
    expect(cache.peek('Stock2')).toBeDefined();
    expect(await fill('Stock1', 95)).toMatchObject({ quantity: 95 });
  });

  it('drops a grant’s invalidations even from an answer too late to adopt', async () => {
    const { cache, lease, fill } = setup();
    lease.adopt(performance.now(), grant({ grant: 1 }));
    await fill('Stock1');
    lease.adopt(performance.now() - 5000, grant({ grant: 2, invalidate: ['Stock1'] }));
    expect(cache.peek('Stock1')).toBeUndefined();
  });

  it('clears the whole cache when it gets a lease again after a lapse', async () => {
    const { cache, lease, fill } = setup();
    const t0 = performance.now();
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
    lease.adopt(performance.now(), grant({ grant: 1, catalog: 'cat-1' }));
    await fill('Stock1');
    lease.adopt(performance.now(), grant({ grant: 1, catalog: 'cat-2' }));
    expect(cache.stats().size).toBe(0);
  });

  it('drops a fill that was in flight when the cache was cleared', async () => {
    const { cache, lease } = setup();
    const t0 = performance.now();
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
