import { jest } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, connect, Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { CLUSTER_TOKEN_HEADER, CommonEnv } from '@app/contracts';
import { HopClient } from './hop-client';

interface Seen {
  method: string;
  url: string;
  token?: string;
  contentType?: string;
  body: string;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const token = req.headers[CLUSTER_TOKEN_HEADER] as string | undefined;
      seen.push({ method: req.method!, url: req.url!, token, contentType: req.headers['content-type'], body });
      handler(req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

const clientWith = (token?: string) => new HopClient({ get: () => token } as unknown as ConfigService<CommonEnv, true>);

describe('HopClient', () => {
  const servers: Server[] = [];
  let client: HopClient;

  beforeEach(() => {
    client = clientWith('t0k3n-of-the-cluster');
  });

  afterEach(async () => {
    await client.onModuleDestroy();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  async function target(handler: Parameters<typeof serve>[0]) {
    const t = await serve(handler);
    servers.push(t.server);
    return t;
  }

  it('posts JSON with the cluster token and returns the status and parsed body', async () => {
    const t = await target((_req, res) => json(res, 200, { results: [{ status: 200, order_no: 7 }] }));
    const res = await client.post<{ results: unknown[] }>(`${t.url}/trade/batch`, { epoch: 2 }, { timeoutMs: 2000, headers: { 'x-request-id': 'r-1' } });
    expect(res).toEqual({ status: 200, data: { results: [{ status: 200, order_no: 7 }] } });
    expect(t.seen).toEqual([{ method: 'POST', url: '/trade/batch', token: 't0k3n-of-the-cluster', contentType: 'application/json', body: '{"epoch":2}' }]);
  });

  it('returns error statuses instead of throwing, with their bodies', async () => {
    const t = await target((_req, res) => json(res, 409, { error: { code: 409, message: 'out of stock' } }));
    await expect(client.post(`${t.url}/x`, {}, { timeoutMs: 2000 })).resolves.toEqual({ status: 409, data: { error: { code: 409, message: 'out of stock' } } });
  });

  it('sends query parameters, leaving undefined ones out, and sends no token when none is set', async () => {
    client = clientWith(undefined);
    const t = await target((_req, res) => json(res, 200, { ok: true }));
    await client.get(`${t.url}/query`, { timeoutMs: 2000, query: { stock_name: 'Stock 1&2', order_no: 3, skip: undefined } });
    expect(t.seen[0].url).toBe('/query?stock_name=Stock+1%262&order_no=3');
    expect(t.seen[0].token).toBeUndefined();
  });

  it('leaves a body that is not JSON undefined', async () => {
    const t = await target((_req, res) => res.end('plain'));
    await expect(client.get(`${t.url}/`, { timeoutMs: 2000 })).resolves.toEqual({ status: 200, data: undefined });
  });

  it('reads a body that came in several chunks, a character split between two', async () => {
    const body = Buffer.from(JSON.stringify({ stock_name: 'Stöck €', padding: 'x'.repeat(70_000) }));
    const cut = body.indexOf(Buffer.from('€')) + 1; // inside the euro sign's three bytes
    const t = await target((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write(body.subarray(0, cut));
      setTimeout(() => res.end(body.subarray(cut)), 20);
    });
    const res = await client.get<{ stock_name: string; padding: string }>(`${t.url}/`, { timeoutMs: 2000 });
    expect(res.data.stock_name).toBe('Stöck €');
    expect(res.data.padding).toHaveLength(70_000);
  });

  it('reads the final answer after an informational one', async () => {
    const t = await target((_req, res) => {
      res.writeProcessing();
      json(res, 201, { ok: true });
    });
    await expect(client.post(`${t.url}/`, {}, { timeoutMs: 2000 })).resolves.toEqual({ status: 201, data: { ok: true } });
  });

  /** Resets the connection of the first request to `/b` before answering it; answers the rest. */
  const resetFirstB = () => {
    let reset = false;
    return (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/b' && !reset) {
        reset = true;
        req.socket.destroy();
      } else {
        json(res, 200, { ok: true });
      }
    };
  };

  it('sends a GET reset before any answer once more (the keep-alive race)', async () => {
    const t = await target(resetFirstB());
    expect((await client.get(`${t.url}/a`, { timeoutMs: 2000 })).status).toBe(200);
    await expect(client.get(`${t.url}/b`, { timeoutMs: 2000 })).resolves.toEqual({ status: 200, data: { ok: true } });
    expect(t.seen.map((s) => s.url)).toEqual(['/a', '/b', '/b']);
  });

  it('sends a reset GET only once more', async () => {
    const t = await target((req) => req.socket.destroy());
    await expect(client.get(`${t.url}/b`, { timeoutMs: 2000 })).rejects.toBeDefined();
    expect(t.seen.map((s) => s.url)).toEqual(['/b', '/b']);
  });

  it('reports the reset of a POST without resending it: it may have been handled', async () => {
    const t = await target(resetFirstB());
    expect((await client.post(`${t.url}/a`, {}, { timeoutMs: 2000 })).status).toBe(200);
    await expect(client.post(`${t.url}/b`, {}, { timeoutMs: 2000 })).rejects.toBeDefined();
    expect(t.seen.map((s) => s.url)).toEqual(['/a', '/b']);
  });

  it('rejects once the timeout has passed without an answer', async () => {
    const t = await target(() => undefined);
    await expect(client.post(`${t.url}/slow`, {}, { timeoutMs: 100 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('ends an exchange when its signal is aborted: rejects with the reason at once, the connection closed', async () => {
    let closed = false;
    const t = await target((req) => req.socket.once('close', () => (closed = true)));
    const stop = new AbortController();
    const answer = client.get(`${t.url}/held`, { timeoutMs: 60_000, signal: stop.signal });
    while (t.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    stop.abort(new Error('shutting down'));
    await expect(answer).rejects.toThrow('shutting down');
    while (!closed) await new Promise((r) => setTimeout(r, 5));
    // A signal aborted already: nothing is sent.
    await expect(client.get(`${t.url}/never`, { timeoutMs: 60_000, signal: stop.signal })).rejects.toThrow('shutting down');
    await expect(client.post(`${t.url}/never`, {}, { timeoutMs: 60_000, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 50));
    expect(t.seen.map((x) => x.url)).toEqual(['/held']);
  });

  it('stops listening to its signal once the exchange is over', async () => {
    const t = await target((_req, res) => json(res, 200, { ok: true }));
    const stop = new AbortController();
    const added = jest.spyOn(stop.signal, 'addEventListener');
    const removed = jest.spyOn(stop.signal, 'removeEventListener');
    await expect(client.get(`${t.url}/a`, { timeoutMs: 5_000, signal: stop.signal })).resolves.toMatchObject({ status: 200 });
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledWith('abort', added.mock.calls[0][1]);
  });

  it('rejects a body that stalls after the headers once the timeout has passed', async () => {
    const t = await target((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    await expect(client.post(`${t.url}/stall`, {}, { timeoutMs: 100 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('clears its timeout once answered, so that no timer outlives the exchange', async () => {
    const t = await target((_req, res) => res.end('{}'));
    const set = jest.spyOn(globalThis, 'setTimeout');
    const clear = jest.spyOn(globalThis, 'clearTimeout');
    try {
      await client.post(`${t.url}/a`, {}, { timeoutMs: 54_321 });
      const mine = set.mock.calls.findIndex((call) => call[1] === 54_321);
      expect(mine).toBeGreaterThanOrEqual(0);
      expect(clear).toHaveBeenCalledWith(set.mock.results[mine].value);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });

  it('reads an answer that arrived while the process was not running, though its timer then fired late', async () => {
    // The server runs in a worker thread, so that it answers while this thread's loop is blocked
    // (as a process stopped with SIGSTOP and resumed: its timer is overdue, the answer waits in the socket).
    const state = new Int32Array(new SharedArrayBuffer(8)); // [0]: requests received, [1]: answers sent
    const worker = new Worker(
      `const { createServer } = require('node:http');
       const { parentPort, workerData } = require('node:worker_threads');
       const state = workerData;
       const server = createServer((req, res) => {
         req.resume();
         req.on('end', () => {
           Atomics.add(state, 0, 1);
           res.setHeader('content-type', 'application/json');
           res.end(JSON.stringify({ answered: Atomics.load(state, 0) }), () => Atomics.add(state, 1, 1));
         });
       });
       server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
      { eval: true, workerData: state },
    );
    try {
      const [port] = (await once(worker, 'message')) as [number];
      const url = `http://127.0.0.1:${port}/late`;
      await client.post(url, {}, { timeoutMs: 5_000 }); // a kept-alive connection: the next request goes out at once
      // A timeout long enough for the request to reach the server first, on a busy machine too.
      const started = Date.now();
      const call = client.post<{ answered: number }>(url, {}, { timeoutMs: 1_000 });
      while (Atomics.load(state, 0) < 2) await new Promise((r) => setImmediate(r));
      // Not running from here: the answer is sent meanwhile, and the timeout passes. (Bounded: a
      // blocked thread cannot be stopped by Jest's timeout.)
      const until = started + 1_300;
      const giveUp = until + 5_000;
      while ((Atomics.load(state, 1) < 2 && Date.now() < giveUp) || Date.now() < until) Atomics.wait(state, 1, Atomics.load(state, 1), 5);
      expect(Atomics.load(state, 1)).toBe(2);
      await expect(call).resolves.toEqual({ status: 200, data: { answered: 2 } });
    } finally {
      await worker.terminate();
    }
  });

  it('still times out when no answer came while the process was not running', async () => {
    const t = await target(() => undefined);
    const call = client.post(`${t.url}/silent`, {}, { timeoutMs: 100 });
    while (t.seen.length < 1) await new Promise((r) => setImmediate(r));
    const until = Date.now() + 300;
    while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  /**
   * A server whose host drops new connections, as a partition with a drop rule does: it runs in a
   * worker thread blocked before it accepts any (backlog 1), and the kernel's accept queue is
   * filled, so that a further SYN goes unanswered and the connect hangs. `accept()` unblocks it.
   */
  async function droppingHost() {
    const state = new Int32Array(new SharedArrayBuffer(8)); // [0]: 1 once accepting, [1]: connections
    const worker = new Worker(
      `const { createServer } = require('node:http');
       const { parentPort, workerData: state } = require('node:worker_threads');
       const server = createServer((req, res) => {
         parentPort.postMessage({ url: req.url });
         req.resume();
         req.on('end', () => res.end('{}'));
       });
       server.on('connection', () => Atomics.add(state, 1, 1));
       server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         parentPort.postMessage({ port: server.address().port });
         Atomics.wait(state, 0, 0);
       });`,
      { eval: true, workerData: state },
    );
    const seen: string[] = [];
    const port = await new Promise<number>((resolve) =>
      worker.on('message', (m: { port?: number; url?: string }) => (m.port ? resolve(m.port) : seen.push(m.url!))),
    );
    const fillers: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      fillers.push(socket);
      const opened = await Promise.race([once(socket, 'connect').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
      if (!opened) break; // the queue is full: this one's SYN goes unanswered
    }
    return {
      url: `http://127.0.0.1:${port}`,
      seen,
      /** Connections the server has accepted, the fillers' included (the last one's SYN was dropped too). */
      accepted: () => Atomics.load(state, 1),
      fillers: fillers.length,
      accept: () => {
        Atomics.store(state, 0, 1);
        Atomics.notify(state, 0);
      },
      close: async () => {
        fillers.forEach((f) => f.destroy());
        await worker.terminate();
      },
    };
  }

  it('rejects at its timeout while the connection is still being opened (a host that drops packets)', async () => {
    const host = await droppingHost();
    try {
      // undici alone would wait for its own connect timeout (10 s), then fail with UND_ERR_CONNECT_TIMEOUT.
      await expect(client.get(`${host.url}/ping`, { timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      host.accept();
      await host.close();
    }
  }, 20_000);

  it('never sends a request whose timeout passed before its connection opened', async () => {
    const host = await droppingHost();
    try {
      await expect(client.post(`${host.url}/late-trade`, { n: 1 }, { timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' });
      host.accept();
      // The hung connect completes (the SYN is sent again) and is handed the aborted request.
      const giveUp = Date.now() + 15_000;
      while (host.accepted() <= host.fillers && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 20));
      expect(host.accepted()).toBe(host.fillers + 1);
      await expect(client.post(`${host.url}/next`, { n: 2 }, { timeoutMs: 5_000 })).resolves.toMatchObject({ status: 200 });
      // The worker reports each request it handled by message, which may come after the answer.
      while (!host.seen.includes('/next') && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 20));
      expect(host.seen).toEqual(['/next']);
    } finally {
      await host.close();
    }
  }, 30_000);

  it('rejects a URL it cannot parse, and a call after the client was closed', async () => {
    await expect(client.get('not a url', { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ERR_INVALID_URL' });
    const t = await target((_req, res) => json(res, 200, {}));
    const closed = clientWith('t0k3n-of-the-cluster');
    await closed.onModuleDestroy();
    await expect(closed.post(`${t.url}/`, {}, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'UND_ERR_DESTROYED' });
    expect(t.seen).toEqual([]);
  });

  it('rejects a refused connection', async () => {
    const t = await target(() => undefined);
    const url = t.url;
    await new Promise<void>((r) => t.server.close(() => r()));
    await expect(client.get(`${url}/`, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
