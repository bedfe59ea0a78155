import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BazaarClient } from '@app/loadgen';
import { check, type ReadOp } from '@app/verify';
import type { SessionClients } from './clients';
import { HistoryWriter } from './history';
import { OutageReader } from './outage-reader';

/**
 * The outage reader against front ends faked at the fetch level: it reads only while the catalog
 * is out, every stock in turn through every front end in turn, under its own session, and a
 * lookup a front end fails meanwhile fails the run's "no client-visible failures".
 */
describe('OutageReader', () => {
  let dir: string;
  let history: HistoryWriter;
  let out: boolean;
  let stop: boolean;
  /** Called after every lookup: lets a test end the outage or the run after so many. */
  let afterRead: (reads: number) => void;
  let reads: number;
  /** The status the front ends answer lookups with. */
  let status: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outage-'));
    history = new HistoryWriter(join(dir, 'history.jsonl'), performance.now());
    out = false;
    stop = false;
    afterRead = () => undefined;
    reads = 0;
    status = 200;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fe = (frontend: string): SessionClients => {
    const fetchImpl = async (url: string) => {
      const stock_name = new URL(url).searchParams.get('stock_name')!;
      afterRead(++reads);
      return status === 200
        ? new Response(JSON.stringify({ stock_name, price: 10, trade_volume: 0, quantity: 100 }), { status })
        : new Response(JSON.stringify({ error: { code: status, message: 'catalog unreachable' } }), { status });
    };
    const client = new BazaarClient({ url: `http://${frontend}.test:1`, timeoutMs: 1000, fetchImpl });
    return { frontend, reads: client, trades: client };
  };

  const reader = (frontends: string[]) =>
    new OutageReader({ clients: frontends.map(fe), catalogOut: () => out, session: 7, history, stopIssuing: () => stop, signal: new AbortController().signal });

  const readOps = () => history.ops.filter((o): o is ReadOp => o.kind === 'read');

  it('reads nothing while the catalog is up', async () => {
    const run = reader(['frontend', 'frontend-2']).run();
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    expect(await run).toEqual({ session: 7, windows: 0, reads: 0 });
    expect(readOps()).toEqual([]);
  });

  it('while the catalog is out: each stock in turn through every front end, in its own session', async () => {
    afterRead = (n) => {
      if (n === 12) {
        out = false;
        setTimeout(() => (out = true), 50); // a second outage, once the reader has seen the first end
      }
      if (n === 15) stop = true;
    };
    out = true;
    const figures = await reader(['frontend', 'frontend-2']).run();
    expect(figures).toEqual({ session: 7, windows: 2, reads: 15 });
    const ops = readOps();
    expect(ops.slice(0, 12).map((o) => [o.frontend, o.stock_name])).toEqual(
      Array.from({ length: 12 }, (_, n) => [n % 2 ? 'frontend-2' : 'frontend', `Stock${Math.floor(n / 2) + 1}`]),
    );
    // The second outage starts over at Stock1 through the first front end.
    expect([ops[12].frontend, ops[12].stock_name]).toEqual(['frontend', 'Stock1']);
    expect(ops.every((o) => o.session === 7 && o.outcome === 'ok')).toBe(true);
  });

  it('a lookup a front end answers 503 during the outage fails "no client-visible failures"', async () => {
    status = 503;
    afterRead = (n) => {
      if (n === 3) stop = true;
    };
    out = true;
    await reader(['frontend']).run();
    const failures = check({ nemesis: 'default', ops: history.ops, logs: {}, catalog: [] }).checks.find((c) => c.id === 'client-failures')!;
    expect(failures.verdict).toBe('fail');
    expect(readOps().map((o) => o.status)).toEqual([503, 503, 503]);
  });
});
