import { ConfigService } from '@nestjs/config';
import { HopClient, monotonicNow, StockNotFound, Unavailable } from '@app/common';
import { FrontendEnv } from '@app/contracts';
import { LeaseService } from '../lease/lease.service';
import { CatalogClient } from './catalog.client';

const config = (lease: number, failover = 15000) =>
  ({ get: (key: keyof FrontendEnv) => ({ CATALOG_URL: 'http://127.0.0.1:10001/', CACHE_LEASE_MS: lease, FAILOVER_TIMEOUT_MS: failover })[key as string] }) as unknown as ConfigService<FrontendEnv, true>;

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

  it('asks again while the catalog is down or answers 503 (a restart), and answers the stock once it is back', async () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:10001');
    const { hops, calls } = scripted([refused, refused, { status: 503, data: {} }, new Error('socket hang up')]);
    const started = monotonicNow();
    await expect(new CatalogClient(hops, noWait, config(1000)).query('Stock1')).resolves.toEqual(STOCK);
    expect(calls).toHaveLength(5);
    // Pauses of 50, 100, 200 and 400 ms between the tries.
    expect(calls[4].at - started).toBeGreaterThanOrEqual(50 + 100 + 200 + 400 - 5);
    for (let i = 1; i < calls.length; i++) expect(calls[i].at - calls[i - 1].at).toBeGreaterThanOrEqual(Math.min(400, 50 * 2 ** (i - 1)) - 5);
  });

  it('gives up with 503 and the last reason within FAILOVER_TIMEOUT_MS of the first try', async () => {
    const { hops, calls } = scripted(Array.from({ length: 100 }, () => new Error('connect ECONNREFUSED 127.0.0.1:10001')));
    const started = monotonicNow();
    const err = await new CatalogClient(hops, noWait, config(1000, 600)).query('Stock1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect(err).toMatchObject({ status: 503, message: 'catalog unreachable: connect ECONNREFUSED 127.0.0.1:10001' });
    const took = monotonicNow() - started;
    expect(took).toBeLessThanOrEqual(600 + 100);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    // The first try waits as long as the catalog may hold a lookup; a retry only what is left of the deadline (at least 0.5 s).
    expect(calls[0].timeoutMs).toBe(8000);
    for (const call of calls.slice(1)) expect(call.timeoutMs).toBeLessThanOrEqual(600);
  });

  it('does not ask again after an answer another try cannot change: a 404, a 400, a 500', async () => {
    for (const [status, kind] of [
      [404, StockNotFound],
      [500, Unavailable],
    ] as const) {
      const { hops, calls } = scripted([{ status, data: {} }]);
      await expect(new CatalogClient(hops, noWait, config(1000)).query('Stock1')).rejects.toBeInstanceOf(kind);
      expect(calls).toHaveLength(1);
    }
    const { hops, calls } = scripted([{ status: 400, data: {} }]);
    await expect(new CatalogClient(hops, noWait, config(1000)).query('Stock1')).rejects.toMatchObject({ status: 400 });
    expect(calls).toHaveLength(1);
  });
});
