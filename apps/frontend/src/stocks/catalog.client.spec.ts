import { ConfigService } from '@nestjs/config';
import { HopClient } from '@app/common';
import { FrontendEnv } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient } from './catalog.client';

const config = (lease: number) =>
  ({ get: (key: keyof FrontendEnv) => ({ CATALOG_URL: 'http://127.0.0.1:10001/', CACHE_LEASE_MS: lease })[key as string] }) as unknown as ConfigService<FrontendEnv, true>;

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
});
