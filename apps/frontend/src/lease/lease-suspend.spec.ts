import { jest } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { HttpService } from '@nestjs/axios';
import { leaseClockMs, VersionedLruCache } from '@app/cache';
import { FrontendEnv, StockInfo } from '@app/contracts';
import { LeaseService } from './lease.service';

/**
 * A host suspend, as the front end sees it on waking: the wall clock has moved on, the monotonic
 * clock has not. In a file of its own, because it moves this process's lease clock forward for
 * good (see leaseClock), which other tests comparing it with performance.now() would not expect.
 */
describe('front end lease across a host suspend', () => {
  it('serves nothing from the cache after a suspend past the lease’s end, though the monotonic clock stood still', async () => {
    const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, leased: true, stampOf: (s) => s.trade_volume });
    const values: Partial<FrontendEnv> = { CATALOG_URL: 'http://127.0.0.1:10001', CACHE_LEASE_MS: 60_000, CACHE_ENABLED: true, HOST: '127.0.0.1', FRONTEND_PORT: 30001 };
    const config = { get: (key: keyof FrontendEnv) => values[key] } as unknown as ConfigService<FrontendEnv, true>;
    const lease = new LeaseService({} as HttpService, cache, config);
    const fill = () => cache.getOrLoad('Stock1', async () => ({ stock_name: 'Stock1', price: 1, trade_volume: 0, quantity: 100 }));
    lease.adopt(leaseClockMs(), { lease_ms: 60_000, catalog: 'cat-1', grant: 1, invalidate: [] });
    await fill();
    await fill();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    // Only Date is faked: the wall clock jumps 90 s, performance.now() does not.
    jest.useFakeTimers({ doNotFake: ['performance', 'hrtime', 'nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      jest.setSystemTime(Date.now() + 90_000);
      expect(cache.holdsLease()).toBe(false);
      await fill();
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 });
    } finally {
      jest.useRealTimers();
    }
  });
});
