import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** The catalog's metrics: trades by outcome and invalidation pushes by result. */
@Injectable()
export class CatalogMetrics {
  readonly trades: Counter<'outcome'>;
  readonly invalidations: Counter<'result'>;

  constructor(registry: Registry) {
    this.trades = new Counter({
      name: 'bazaar_catalog_trades_total',
      help: 'Trade requests by outcome: ok, refused (409), replayed (a repeated request id)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.invalidations = new Counter({
      name: 'bazaar_catalog_invalidations_total',
      help: 'Cache invalidations pushed to the front end, by result: delivered or failed',
      labelNames: ['result'],
      registers: [registry],
    });
  }
}
