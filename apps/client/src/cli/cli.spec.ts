import { jest } from '@jest/globals';
import { tmpdir } from 'node:os';
import type { FetchLike } from '@app/loadgen';
import { runCli } from './cli';
import type { CliIo } from './cli-io';

/** Captures output; `fetchImpl` answers from `respond` (no network). */
function fakeIo(respond?: (url: string, init: RequestInit) => Response): CliIo & { out: string; err: string; fetchImpl: jest.Mock<FetchLike> } {
  const io = {
    out: '',
    err: '',
    env: {},
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
    fetchImpl: jest.fn<FetchLike>(async (url, init) => {
      if (!respond) throw new Error('no network in unit specs');
      return respond(url, init);
    }),
  };
  return io;
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const argv = (...args: string[]): string[] => ['node', 'main.js', ...args];

describe('runCli argument validation', () => {
  it.each([
    [['load', '--p', '1.5'], 'error: --p must be a probability between 0 and 1 (got 1.5)'],
    [['load', '--p', '-1'], 'error: --p must be a probability between 0 and 1 (got -1)'],
    [['load', '--sessions', '0'], 'error: --sessions must be an integer between 1 and 1000 (got 0)'],
    [['load', '--iterations', '10', '--duration', '5'], 'error: --iterations and --duration cannot be used together'],
    [['load', '--bogus'], "error: unknown option '--bogus'"],
    [['trade', 'Stock1', 'hold', '1'], 'error: trade type must be buy or sell (got "hold")'],
    [['trade', 'Stock1', 'buy'], "error: missing required argument 'quantity'"],
    [['order', 'abc'], 'error: order number must be an integer between'],
    [['lookup', 'Stock1', '--repeat', '0'], 'error: --repeat must be an integer between 1 and 1000000 (got "0")'],
    [['nonsense'], "error: unknown command 'nonsense'"],
    [['sweep', '--p', '0,2'], 'error: --p must be a probability between 0 and 1 (got 2)'],
    [['sweep', '--p', '0,,1'], 'error: --p must be a comma-separated list of probabilities'],
  ])('%j exits with code 2 and a clear message, sending nothing', async (args, message) => {
    const io = fakeIo();
    await expect(runCli(argv(...args), io)).resolves.toBe(2);
    expect(io.err).toContain(message);
    expect(io.fetchImpl).not.toHaveBeenCalled();
  });

  it('load --json naming a directory exits with 2 before sending anything', async () => {
    const io = fakeIo();
    const dir = tmpdir();
    await expect(runCli(argv('load', '--iterations', '1', '--quiet', '--json', dir), io)).resolves.toBe(2);
    expect(io.err).toContain(`error: --json: cannot write to ${dir}: `);
    expect(io.err).toContain('is a directory');
    expect(io.fetchImpl).not.toHaveBeenCalled();
  });

  it('prints the usage and exits with 2 when no command is given', async () => {
    const io = fakeIo();
    await expect(runCli(argv(), io)).resolves.toBe(2);
    expect(io.err).toContain('Usage: client');
  });

  it('prints help on stdout and exits with 0 for --help', async () => {
    const io = fakeIo();
    await expect(runCli(argv('load', '--help'), io)).resolves.toBe(0);
    expect(io.out).toContain('--iterations <n>');
    expect(io.out).toContain('--duration <seconds>');
  });
});

describe('sweep', () => {
  it('runs each p, prints the table, writes JSON and exits with 0', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'client-sweep-'));
    try {
      let hits = 0;
      let misses = 0;
      const stock = { stock_name: 'Stock1', price: 9.99, trade_volume: 0, quantity: 100 };
      const io = fakeIo((url) => {
        const path = new URL(url).pathname;
        if (path === '/cache/stats') {
          return json(200, { enabled: true, capacity: 100, size: 1, hits, misses, evictions: 0, invalidations: 0, stale_fills_dropped: 0 });
        }
        if (hits + misses === 0) misses++;
        else hits++;
        return json(200, stock);
      });
      const out = join(dir, 'sweep.json');
      const code = await runCli(argv('sweep', '--p', '0,0', '--iterations', '5', '--sessions', '2', '--seed', '1', '--json', out, '--quiet'), io);
      if (code !== 0) throw new Error(`exit ${code}\n${io.out}\n${io.err}`);
      expect(io.out).toContain('p = 0, 0');
      expect(io.out).toMatch(/result: PASS\n$/);
      expect(io.err).toContain('results written to');
      const written = JSON.parse(await readFile(out, 'utf8'));
      expect(written.kind).toBe('sweep');
      expect(written.table.map((r: { hit_ratio: number }) => r.hit_ratio)).toEqual([0.9, 1]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('single operations', () => {
  it('lookup prints the JSON response and exits with 0', async () => {
    const stock = { stock_name: 'Stock1', price: 9.99, trade_volume: 0, quantity: 100 };
    const io = fakeIo(() => json(200, stock));
    await expect(runCli(argv('--url', 'http://bazaar:1', 'lookup', 'Stock1'), io)).resolves.toBe(0);
    expect(JSON.parse(io.out)).toEqual(stock);
    expect(io.err).toMatch(/^HTTP 200 in \d+\.\d\d ms\n$/);
    expect(io.fetchImpl.mock.calls[0][0]).toBe('http://bazaar:1/stocks?stock_name=Stock1');
  });

  it('--url given twice names two front ends, as a comma does: the second is tried when the first does not answer', async () => {
    const stock = { stock_name: 'Stock1', price: 9.99, trade_volume: 0, quantity: 100 };
    const io = fakeIo((url) => {
      if (url.startsWith('http://one:1')) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      return json(200, stock);
    });
    await expect(runCli(argv('--url', 'http://one:1', '--url', 'http://two:2', 'lookup', 'Stock1'), io)).resolves.toBe(0);
    expect(JSON.parse(io.out)).toEqual(stock);
    expect(io.fetchImpl.mock.calls.map((c) => new URL(c[0] as string).host)).toEqual(['one:1', 'two:2']);
  });

  it('lookup --repeat stops sending once standard output is closed (`| head`), keeping its exit code', async () => {
    const stock = { stock_name: 'Stock1', price: 9.99, trade_volume: 0, quantity: 100 };
    const io = fakeIo(() => json(200, stock));
    io.stdoutClosed = () => io.out.length > 0; // the reader went away after the first line
    await expect(runCli(argv('lookup', 'Stock1', '--repeat', '1000'), io)).resolves.toBe(0);
    expect(io.fetchImpl).toHaveBeenCalledTimes(1);
  });

  it('status --watch stops once standard output is closed, exit 0', async () => {
    const io = fakeIo(() => json(503, { error: { code: 503, message: 'no' } }));
    io.stdoutClosed = () => io.out.length > 0;
    await expect(runCli(argv('status', '--watch'), io)).resolves.toBe(0);
    expect(io.fetchImpl).toHaveBeenCalledTimes(1);
  });

  it('trade sends the body, the spelling given and the idempotency key; a refusal exits with 1', async () => {
    const io = fakeIo(() => json(409, { order_no: -1, message: 'Trade failed!' }));
    await expect(runCli(argv('trade', 'Stock2', 'SELL', '3', '--key', 'k1', '--repeat', '2'), io)).resolves.toBe(1);
    const [url, init] = io.fetchImpl.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:30001/orders');
    expect(init.method).toBe('POST');
    expect(JSON.parse(String(init.body))).toEqual({ stock_name: 'Stock2', trade_type: 'SELL', quantity: 3 });
    expect((init.headers as Record<string, string>)['idempotency-key']).toBe('k1');
    expect(io.out).toMatch(/#1 {2}HTTP 409 {2}[\d.]+ ms {2}\{"order_no":-1,"message":"Trade failed!"\}/);
    expect(io.out).toContain('2 requests in');
    expect(io.out).toContain('2 × HTTP 409');
  });

  const keyOf = (call: unknown[]): string => ((call[1] as RequestInit).headers as Record<string, string>)['idempotency-key'];
  const reset = (): never => {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
  };

  it('trade without --key sends a key of its own; when the answer is lost it is sent again with that key, whose answer is the outcome', async () => {
    let sent = 0;
    const io = fakeIo(() => (++sent === 1 ? reset() : json(200, { order_no: 12 })));
    await expect(runCli(argv('--url', 'http://bazaar:1', 'trade', 'Stock4', 'buy', '1'), io)).resolves.toBe(0);
    expect(JSON.parse(io.out)).toEqual({ order_no: 12 });
    const keys = io.fetchImpl.mock.calls.map(keyOf);
    expect(keys).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), keys[0]]);
    expect(io.err).toContain(`sent 2 times with Idempotency-Key ${keys[0]}`);
  });

  it('trade whose every sending got no answer says the outcome is unknown and how to learn it, exit 1', async () => {
    // Each sending times out after 10 s of the client's clock: the second ends past the window a trade is resent in.
    let nowNs = 0n;
    const clock = jest.spyOn(process.hrtime, 'bigint').mockImplementation(() => nowNs);
    try {
      const io = fakeIo(() => {
        nowNs += 10_000n * 1_000_000n;
        throw Object.assign(new Error('aborted'), { name: 'TimeoutError' });
      });
      await expect(runCli(argv('--url', 'http://bazaar:1', 'trade', 'Stock4', 'buy', '1'), io)).resolves.toBe(1);
      const key = keyOf(io.fetchImpl.mock.calls[0]);
      expect(io.fetchImpl.mock.calls.map(keyOf)).toEqual([key, key]);
      expect(io.out).toBe('');
      expect(io.err).toMatch(/^error: no answer from http:\/\/bazaar:1\/orders \(timeout after 10000 ms, sent 2 times, after [\d.]+ ms\): the trade may have gone through; /);
      expect(io.err).toContain(
        `it was sent with Idempotency-Key ${key}: run \`npm run client -- trade Stock4 buy 1 --url http://bazaar:1 --key ${key}\` to learn its outcome (the same key never trades twice)\n`,
      );
    } finally {
      clock.mockRestore();
    }
  });

  it('trade answered 503 "may have gone through" shows the key to retry with; a refused connection says only that', async () => {
    const message = 'No order replica can take it; an earlier attempt may have gone through: retry with the same Idempotency-Key to learn its outcome';
    const io = fakeIo(() => json(503, { order_no: -1, message }));
    await expect(runCli(argv('trade', 'Stock4', 'BUY', '1', '--key', "it's"), io)).resolves.toBe(1);
    expect(io.err).toContain("its Idempotency-Key is it's: run `npm run client -- trade Stock4 BUY 1 --key 'it'\\''s'` to learn its outcome");

    const refused = fakeIo(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    });
    await expect(runCli(argv('trade', 'Stock4', 'buy', '1'), refused)).resolves.toBe(1);
    expect(refused.err).toMatch(/^error: request failed: ECONNREFUSED http:\/\/127\.0\.0\.1:30001\/orders \(after [\d.]+ ms\)\n$/);
    expect(refused.fetchImpl).toHaveBeenCalledTimes(1);
  });

  it('order reports a transport failure on stderr and exits with 1', async () => {
    const io = fakeIo(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    });
    await expect(runCli(argv('order', '5'), io)).resolves.toBe(1);
    expect(io.err).toMatch(/^error: request failed: ECONNREFUSED http:\/\/127\.0\.0\.1:30001\/orders \(after /);
  });
});

describe('status', () => {
  const body = {
    time: '2024-05-06T10:20:30.456Z',
    frontend: { pid: 4242, uptime_s: 75 },
    catalog: { address: 'http://127.0.0.1:10001', state: 'up' },
    leader: { id: 3, epoch: 2, address: 'http://127.0.0.1:20003' },
    replicas: [1, 2, 3].map((id) => ({
      id,
      address: `http://127.0.0.1:2000${id}`,
      state: id === 3 ? 'leader' : 'ready',
      role: id === 3 ? 'leader' : 'follower',
      epoch: 2,
      last_no: 7,
      commit_no: 7,
      lag: 0,
    })),
    cache: { enabled: true, capacity: 100, size: 2, hits: 8, misses: 2, evictions: 0, invalidations: 1, stale_fills_dropped: 0, hit_ratio: 0.8 },
    leader_changes: [{ at: '2024-05-06T10:19:16.000Z', leader: 3, epoch: 2, reason: 'start-up' }],
  };

  it('prints the cluster from GET /status.json and exits with 0', async () => {
    const io = fakeIo(() => json(200, body));
    await expect(runCli(argv('status', '--url', 'http://bazaar:1'), io)).resolves.toBe(0);
    expect(io.fetchImpl.mock.calls[0][0]).toBe('http://bazaar:1/status.json');
    expect(io.out).toContain('Stock Bazaar at http://bazaar:1');
    expect(io.out).toContain('leader     order-3, epoch 2');
    expect(io.out).toContain('hit ratio 80.0 %');
    expect(io.err).toBe('');
  });

  it('with the front end unreachable, prints one line naming the URL and exits with 1', async () => {
    const io = fakeIo(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    });
    await expect(runCli(argv('--url', 'http://127.0.0.1:39999', 'status'), io)).resolves.toBe(1);
    expect(io.err).toBe('error: cannot reach the front end at http://127.0.0.1:39999/status.json: ECONNREFUSED\n');
    expect(io.out).toBe('');
  });

  it('says so when the front end has no status endpoint or answers something else', async () => {
    const missing = fakeIo(() => json(404, { error: { code: 404, message: 'Cannot GET /status.json' } }));
    await expect(runCli(argv('status'), missing)).resolves.toBe(1);
    expect(missing.err).toBe(
      'error: http://127.0.0.1:30001/status.json answered HTTP 404 Cannot GET /status.json (a front end without GET /status.json?)\n',
    );
    const odd = fakeIo(() => json(200, { leader: 3 }));
    await expect(runCli(argv('status'), odd)).resolves.toBe(1);
    expect(odd.err).toBe('error: http://127.0.0.1:30001/status.json answered 200 with a body that is not a cluster status\n');
  });

  it('--watch clears the screen and redraws until Ctrl-C, then exits with 0; an unreachable front end is shown, not fatal', async () => {
    let calls = 0;
    let interrupt: (() => void) | undefined;
    let removed = false;
    const io = fakeIo(() => {
      calls++;
      if (calls === 2) throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
      if (calls === 3) interrupt?.();
      return json(200, body);
    });
    io.onInterrupt = (handler) => {
      interrupt = handler;
      return () => (removed = true);
    };
    const started = Date.now();
    await expect(runCli(argv('status', '--watch'), io)).resolves.toBe(0);
    // Two frames drawn (the third reading came after Ctrl-C), a second apart.
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    const frames = io.out.split('\x1b[H\x1b[2J\x1b[3J').slice(1);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toContain('leader     order-3');
    expect(frames[0]).toContain('refreshing every 1 s; Ctrl-C to stop');
    expect(frames[1]).toMatch(/error: cannot reach the front end at http:\/\/127\.0\.0\.1:30001\/status\.json: ECONNREFUSED/);
    expect(removed).toBe(true);
  });
});
