import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { VersionedLruCache } from '@app/cache';
import { counterOf, gaugeOf } from '@app/common';
import { StockInfo } from '@app/contracts';
import { LeaderElectionService } from '../leader/leader-election.service';
import { StocksService } from '../stocks/stocks.service';

/** The front end's own metrics, read from the cache, the lookups and the election when scraped. */
@Injectable()
export class FrontendMetrics {
  constructor(registry: Registry, cache: VersionedLruCache<StockInfo>, election: LeaderElectionService, stocks: StocksService) {
    const stats = () => cache.stats();
    counterOf(registry, 'bazaar_cache_hits_total', 'Stock lookups answered from the cache', () => stats().hits);
    counterOf(registry, 'bazaar_cache_misses_total', 'Stock lookups that went to the catalog', () => stats().misses);
    counterOf(registry, 'bazaar_cache_evictions_total', 'Stocks evicted by the LRU policy', () => stats().evictions);
    counterOf(registry, 'bazaar_cache_invalidations_total', 'Invalidations pushed by the catalog (GET /rm)', () => stats().invalidations);
    counterOf(
      registry,
      'bazaar_cache_stale_fills_dropped_total',
      'Catalog answers not cached because an invalidation overtook them',
      () => stats().stale_fills_dropped,
    );
    counterOf(registry, 'bazaar_cache_offers_taken_total', "Stocks cached from a trade's answer rather than by a lookup", () => stats().offers_taken);
    gaugeOf(registry, 'bazaar_cache_entries', 'Stocks held in the cache', () => stats().size);
    gaugeOf(registry, 'bazaar_catalog_out_of_reach', '1 while a lookup has asked the catalog FAILOVER_TIMEOUT_MS in vain and nothing answered since', () => (stocks.catalogOutOfReach ? 1 : 0));
    counterOf(registry, 'bazaar_lookups_shed_total', 'Stock lookups answered 503 at once, without asking the catalog, while it was out of reach', () => stocks.shed);
    counterOf(registry, 'bazaar_leader_changes_total', 'Times this front end switched to a new leader or epoch', () => election.leaderChanges);
    gaugeOf(registry, 'bazaar_leader_epoch', 'Epoch of the current leader (0: none)', () => election.current?.epoch ?? 0);
    gaugeOf(registry, 'bazaar_leader_id', 'Id of the current leader replica (0: none)', () => election.current?.id ?? 0);
  }
}
