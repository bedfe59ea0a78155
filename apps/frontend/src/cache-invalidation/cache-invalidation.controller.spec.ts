import { VersionedLruCache } from '@app/cache';
import { StockInfo } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { StocksService } from '../stocks/stocks.service';
import { CacheInvalidationController, NotLeaseHolder } from './cache-invalidation.controller';

const ME = 'http://127.0.0.1:30001';
const MY_PROCESS = '6f1d2c3b-8e0a-4b7e-9c55-2d1f0e4a7b19';

/** The controller over a real cache holding Stock1, as front end ME, process MY_PROCESS. */
function setup() {
  const cache = new VersionedLruCache<StockInfo>({ enabled: true, capacity: 10, stampOf: (s) => s.trade_volume });
  cache.setIfCurrent('Stock1', { stock_name: 'Stock1', price: 1, quantity: 100, trade_volume: 0 }, cache.versionOf('Stock1'));
  const stocks = { invalidateMany: (names: string[]) => ({ removed: names.filter((n) => cache.invalidate(n)), not_cached: [] }) } as unknown as StocksService;
  const lease = { frontendId: ME, instance: MY_PROCESS } as unknown as LeaseService;
  return { cache, controller: new CacheInvalidationController(stocks, cache, lease) };
}

describe('the batched push (POST /rm)', () => {
  it('takes a push named for this front end and this process, or naming neither', () => {
    for (const named of [{ frontend: ME, instance: MY_PROCESS }, { frontend: ME }, {}]) {
      const { cache, controller } = setup();
      expect(controller.invalidateMany({ stock_names: ['Stock1'], ...named })).toEqual({ removed: ['Stock1'], not_cached: [] });
      expect(cache.peek('Stock1')).toBeUndefined();
    }
  });

  it('refuses (409, nothing dropped) a push for another front end, or for another process with this front end\'s id', () => {
    for (const named of [{ frontend: 'http://127.0.0.1:30002' }, { frontend: ME, instance: 'an-earlier-process' }]) {
      const { cache, controller } = setup();
      const refuse = () => controller.invalidateMany({ stock_names: ['Stock1'], ...named });
      expect(refuse).toThrow(NotLeaseHolder);
      expect(refuse).toThrow(expect.objectContaining({ status: 409 }));
      expect(cache.peek('Stock1')).toBeDefined();
    }
  });
});
