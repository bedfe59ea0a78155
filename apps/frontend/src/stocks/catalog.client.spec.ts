import { ConfigService } from '@nestjs/config';
import { HopClient, InvalidInput, monotonicNow, StockNotFound, Unavailable } from '@app/common';
import { FrontendEnv } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient, CatalogOutage } from './catalog.client';

const config = (lease: number) =>
  ({ get: (key: keyof FrontendEnv) => ({ CATALOG_URL: 'http://127.0.0.1:10001/', CACHE_LEASE_MS: lease })[key as string] }) as unknown as ConfigService<FrontendEnv, true>;

const STOCK = { stock_name: 'Stock1', price: 1, quantity: 100, trade_volume: 0 };
const noWait = { catalogWaitMs: undefined } as unknown as LeaseService;

/** A catalog that gives `answers` in turn (an Error is thrown, as HopClient throws for no answer), then the stock. */
function scripted(answers: (Error | { status: number; data?: unknown })[]) {
  const calls: { at: number; timeoutMs: number }[] = [];
  const hops = {
    get: async (_url: string, o: { timeoutMs: number }) => {
      calls.push({ at: monotonicNow(), timeoutMs: o.timeoutMs });
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next ?? { status: 200, data: { data: STOCK } };
    },
  } as unknown as HopClient;
  return { hops, calls };
}

describe('the catalog client', () => {
  it('waits for a lookup 5 s plus the longest the catalog may hold it: what its grant says, else three of its own leases', async () => {
    let catalogWaitMs: number | undefined;
    const lease = {
      get catalogWaitMs() {
        return catalogWaitMs;
      },
    } as unknown as LeaseService;
    const timeouts: number[] = [];
    const hops = {
      get: async (url: string, o: { timeoutMs: number }) => {
        timeouts.push(o.timeoutMs);
        expect(url).toBe('http://127.0.0.1:10001/query');
        return { status: 200, data: { data: { stock_name: 'Stock1', price: 1, quantity: 100, trade_volume: 0 } } };
      },
    } as unknown as HopClient;
    const client = new CatalogClient(hops, lease, config(1000));
    await client.query('Stock1');
    catalogWaitMs = 2200; // under three leases
    await client.query('Stock1');
    catalogWaitMs = 41_000; // a catalog with a far longer lease or margin than this front end's
    await client.query('Stock1');
    expect(timeouts).toEqual([8000, 8000, 46_000]);
  });

  it('one try: no answer, a 503, or a proxy\'s 502 or 504 is a CatalogOutage (asking again may help); 404, 400, 401 and a 500 are not', async () => {
    const outages = [new Error('connect ECONNREFUSED 127.0.0.1:10001'), new Error('socket hang up'), { status: 503, data: {} }, { status: 502 }, { status: 504 }];
    for (const answer of outages) {
      const { hops, calls } = scripted([answer]);
      await expect(new CatalogClient(hops, noWait, config(1000)).query('Stock1')).rejects.toBeInstanceOf(CatalogOutage);
      expect(calls).toHaveLength(1);
    }
    for (const [status, kind] of [
      [404, StockNotFound],
      [400, InvalidInput],
      [500, Unavailable],
      [401, Unavailable],
    ] as const) {
      const { hops } = scripted([{ status, data: {} }]);
      const err = await new CatalogClient(hops, noWait, config(1000)).query('Stock1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(kind);
      expect(err).not.toBeInstanceOf(CatalogOutage);
    }
    // A timeout given for the try is the one used.
    const { hops, calls } = scripted([]);
    await expect(new CatalogClient(hops, noWait, config(1000)).query('Stock1', undefined, 700)).resolves.toEqual(STOCK);
    expect(calls.map((c) => c.timeoutMs)).toEqual([700]);
  });
});
