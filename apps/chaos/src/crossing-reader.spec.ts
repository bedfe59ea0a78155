import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BazaarClient } from '@app/loadgen';
import { check, type ReadOp } from '@app/verify';
import type { SessionClients } from './clients';
import { CrossingReader, type PushLossView } from './crossing-reader';
import { HistoryWriter } from './history';

/**
 * The crossing reader against front ends faked at the fetch level: what it reads, in which order,
 * under which session, and that a front end serving a stock from before a trade another one
 * already showed fails the run's "monotonic reads" in the reader's session.
 */
describe('CrossingReader', () => {
  let dir: string;
  let history: HistoryWriter;
  /** Front end → stock → the trade volume it answers with (0 when not set). */
  let volumes: Record<string, Record<string, number>>;
  /** Front ends that give no answer at all. */
  let silent: Set<string>;
  /** Called after every answered lookup: lets a test end the window or the run after so many reads. */
  let afterRead: (reads: number) => void;
  let reads: number;
  let lost: string[];
  let stop: boolean;
  const relays: PushLossView = { losing: () => lost };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crossing-'));
    history = new HistoryWriter(join(dir, 'history.jsonl'), performance.now());
    volumes = {};
    silent = new Set();
    afterRead = () => undefined;
    reads = 0;
    lost = [];
    stop = false;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A front end whose lookups answer from `volumes` (or not at all, when `silent`). */
  const fe = (frontend: string): SessionClients => {
    const fetchImpl = async (url: string) => {
      if (silent.has(frontend)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const stock_name = new URL(url).searchParams.get('stock_name')!;
      const trade_volume = volumes[frontend]?.[stock_name] ?? 0;
      afterRead(++reads);
      return new Response(JSON.stringify({ stock_name, price: 10, trade_volume, quantity: 100 - trade_volume }), { status: 200 });
    };
    const client = new BazaarClient({ url: `http://${frontend}.test:1`, timeoutMs: 1000, fetchImpl });
    return { frontend, reads: client, trades: client };
  };

  const reader = (frontends: string[], session = 6) =>
    new CrossingReader({ clients: frontends.map(fe), relays, session, history, stopIssuing: () => stop, signal: new AbortController().signal });

  const readOps = () => history.ops.filter((o): o is ReadOp => o.kind === 'read');
  const pairs = () => {
    const ops = readOps();
    return Array.from({ length: ops.length / 2 }, (_, i) => [ops[2 * i], ops[2 * i + 1]]);
  };

  it('reads nothing while no pushes are lost', async () => {
    const run = reader(['frontend', 'frontend-2']).run();
    await new Promise((r) => setTimeout(r, 50));
    stop = true;
    expect(await run).toEqual({ session: 6, windows: 0, pairs: 0, newer: 0 });
    expect(history.ops).toEqual([]);
  });

  it('while one front end loses its pushes, reads every stock in turn through the other and then through it, as its own session', async () => {
    lost = ['frontend-2'];
    afterRead = (n) => {
      if (n === 30) lost = []; // the window closes after 15 pairs …
    };
    const r = reader(['frontend', 'frontend-2']);
    const run = r.run();
    await new Promise((res) => setTimeout(res, 50)); // … and the reader waits for the next one
    stop = true;
    expect(await run).toEqual({ session: 6, windows: 1, pairs: 15, newer: 0 });
    expect(pairs().map(([a, b]) => [a.frontend, b.frontend, a.stock_name, b.stock_name])).toEqual(
      Array.from({ length: 15 }, (_, i) => ['frontend', 'frontend-2', `Stock${(i % 10) + 1}`, `Stock${(i % 10) + 1}`]),
    );
    expect(new Set(readOps().map((o) => o.session))).toEqual(new Set([6]));
    expect(readOps().every((o) => o.outcome === 'ok' && o.trade_volume === 0)).toBe(true);
  });

  it('aims at whichever front end loses its pushes, and takes the others in turn to read first', async () => {
    lost = ['frontend'];
    afterRead = (n) => {
      if (n === 8) lost = [];
      if (n === 8) stop = true;
    };
    expect(await reader(['frontend', 'frontend-2', 'frontend-3']).run()).toMatchObject({ windows: 1, pairs: 4 });
    expect(pairs().map(([a, b]) => `${a.frontend}→${b.frontend}`)).toEqual(['frontend-2→frontend', 'frontend-3→frontend', 'frontend-2→frontend', 'frontend-3→frontend']);
  });

  it('counts a pair whose first read shows a stock newer than it had read before', async () => {
    lost = ['frontend-2'];
    afterRead = (n) => {
      if (n === 20) volumes.frontend = { Stock3: 7 }; // a trade of Stock3, shown by the first front end from the next round on
      if (n === 60) stop = true;
    };
    expect(await reader(['frontend', 'frontend-2']).run()).toMatchObject({ windows: 1, pairs: 30, newer: 1 });
  });

  it('makes no second read when the first front end gives no answer', async () => {
    lost = ['frontend-2'];
    silent.add('frontend');
    const run = reader(['frontend', 'frontend-2']).run();
    await new Promise((res) => setTimeout(res, 120));
    stop = true;
    expect(await run).toMatchObject({ windows: 1, pairs: 0 });
    expect(readOps().length).toBeGreaterThan(0);
    expect(readOps().every((o) => o.frontend === 'frontend' && o.status === 0)).toBe(true);
  });

  it('a front end serving a stock from before a trade the other one showed fails "monotonic reads" in the reader\'s session', async () => {
    lost = ['frontend-2'];
    volumes.frontend = { Stock1: 5 };
    afterRead = (n) => {
      if (n === 2) stop = true;
    };
    await reader(['frontend', 'frontend-2'], 6).run();
    const monotonic = check({ nemesis: 'default', ops: history.ops, logs: {}, catalog: [] }).checks.find((c) => c.id === 'monotonic-reads')!;
    expect(monotonic.verdict).toBe('fail');
    expect(monotonic.violations).toEqual([expect.stringMatching(/^session 6 read Stock1 trade_volume 0 \(op 2 at .* ms\) after 5 \(op 1 at .* ms\)$/)]);
  });
});
