import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BazaarClient } from './bazaar-client';
import { nodeHttpTransport, TransportAbortedError, TransportTimeoutError } from './transport';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A real HTTP server on a free loopback port; counts the connections it accepted. */
async function serve(handler: Handler) {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => new URL(`http://127.0.0.1:${port}${path}`),
    base: `http://127.0.0.1:${port}`,
    connections: () => connections,
    /** Drops every open connection, as a server's keep-alive timeout would. */
    dropConnections: () => sockets.forEach((s) => s.destroy()),
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

describe('nodeHttpTransport', () => {
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends method, headers and body, and resolves with any status and the body text', async () => {
    server = await serve((req, body, res) => {
      res.statusCode = req.method === 'POST' ? 409 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, key: req.headers['idempotency-key'], body }));
    });
    const send = nodeHttpTransport();
    const got = await send({
      method: 'POST',
      url: server.url('/orders'),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' },
      body: '{"stock_name":"Stöck"}',
      timeoutMs: 5000,
    });
    expect(got.status).toBe(409);
    expect(JSON.parse(got.text)).toEqual({ method: 'POST', url: '/orders', key: 'k-1', body: '{"stock_name":"Stöck"}' });
  });

  it('keeps one connection alive across sequential requests', async () => {
    server = await serve((_req, _body, res) => res.end('{}'));
    const send = nodeHttpTransport();
    for (let i = 0; i < 5; i++) await send({ method: 'GET', url: server.url('/stocks'), timeoutMs: 5000 });
    expect(server.connections()).toBe(1);
  });

  it('reconnects when the server dropped the idle connection', async () => {
    server = await serve((_req, _body, res) => res.end('ok'));
    const send = nodeHttpTransport();
    await send({ method: 'GET', url: server.url('/a'), timeoutMs: 5000 });
    server.dropConnections();
    await expect(send({ method: 'GET', url: server.url('/b'), timeoutMs: 5000, idempotent: true })).resolves.toEqual({ status: 200, text: 'ok' });
  });

  it('sends an idempotent request again, once, when a reused connection is reset before any answer; never another', async () => {
    // Every connection answers its first request and drops at its second: what a client sees when
    // the server closes an idle connection just as a request leaves on it (or dies handling it).
    const perSocket = new WeakMap<object, number>();
    const seen: string[] = [];
    server = await serve((req, _body, res) => {
      seen.push(`${req.method} ${req.url}`);
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n >= 2) req.socket.destroy();
      else res.end('ok');
    });
    // One connection at a time: each request goes out on the connection the last one used.
    const send = nodeHttpTransport({ maxSocketsPerHost: 1 });
    await send({ method: 'GET', url: server.url('/warm'), timeoutMs: 5000 });
    await expect(send({ method: 'GET', url: server.url('/again'), timeoutMs: 5000, idempotent: true })).resolves.toEqual({ status: 200, text: 'ok' });
    expect(seen).toEqual(['GET /warm', 'GET /again', 'GET /again']);

    seen.length = 0;
    const another = nodeHttpTransport({ maxSocketsPerHost: 1 });
    await another({ method: 'GET', url: server.url('/warm'), timeoutMs: 5000 });
    const unkeyedTrade = another({ method: 'POST', url: server.url('/orders'), body: '{}', timeoutMs: 5000 });
    await expect(unkeyedTrade).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(seen).toEqual(['GET /warm', 'POST /orders']);
  });

  it('rejects with a timeout when the answer does not come in time, headers or body', async () => {
    server = await serve((req, _body, res) => {
      if (req.url === '/half') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial'); // and never the rest
      } // '/never': no answer at all
    });
    const send = nodeHttpTransport();
    await expect(send({ method: 'GET', url: server.url('/never'), timeoutMs: 100 })).rejects.toBeInstanceOf(TransportTimeoutError);
    await expect(send({ method: 'GET', url: server.url('/half'), timeoutMs: 100 })).rejects.toThrow('timeout after 100 ms');
  });

  it('never sends a request again once it timed out on a reused connection', async () => {
    let slowRequests = 0;
    server = await serve((req, _body, res) => {
      if (req.url === '/slow') slowRequests++;
      else res.end('ok');
    });
    const send = nodeHttpTransport();
    await send({ method: 'GET', url: server.url('/fast'), timeoutMs: 5000 });
    await expect(send({ method: 'POST', url: server.url('/slow'), body: '{}', timeoutMs: 100 })).rejects.toBeInstanceOf(TransportTimeoutError);
    await send({ method: 'GET', url: server.url('/fast'), timeoutMs: 5000 }); // a full round trip later
    expect(slowRequests).toBe(1);
  });

  it('ends the exchange at once when its signal is aborted, long before its timeout, and sends nothing once aborted', async () => {
    let arrived!: () => void;
    const asked = new Promise<void>((r) => (arrived = r));
    server = await serve(() => arrived()); // never answers
    const send = nodeHttpTransport();
    const controller = new AbortController();
    const exchange = send({ method: 'GET', url: server.url('/never'), timeoutMs: 600_000, signal: controller.signal });
    await asked;
    controller.abort();
    await expect(exchange).rejects.toBeInstanceOf(TransportAbortedError);
    const before = server.connections();
    await expect(send({ method: 'GET', url: server.url('/never'), timeoutMs: 600_000, signal: controller.signal })).rejects.toThrow('aborted');
    expect(server.connections()).toBe(before);
  });

  it('rejects with the system error when nothing listens', async () => {
    server = await serve(() => undefined);
    const url = server.url('/');
    await server.close();
    server = undefined;
    await expect(nodeHttpTransport()({ method: 'GET', url, timeoutMs: 5000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('BazaarClient over nodeHttpTransport', () => {
  it('describes transport failures in one line: the error code, or the timeout', async () => {
    const server = await serve((req, _body, res) => {
      if (req.url?.startsWith('/stocks')) res.end(JSON.stringify({ data: { name: 'Stock1', price: 1, quantity: 2 } }));
    });
    try {
      const client = new BazaarClient({ url: server.base, timeoutMs: 100 });
      const ok = await client.lookup('Stock1');
      expect(ok).toMatchObject({ kind: 'response', status: 200, body: { data: { name: 'Stock1' } } });
      await expect(client.order(1)).resolves.toMatchObject({ kind: 'transport', error: 'timeout after 100 ms' });
    } finally {
      await server.close();
    }
    const refused = new BazaarClient({ url: server.base, timeoutMs: 100 });
    await expect(refused.lookup('Stock1')).resolves.toMatchObject({ kind: 'transport', error: 'ECONNREFUSED' });
  });

  it('an aborted status reading says so, and goes to no other front end', async () => {
    let asks = 0;
    let arrived!: () => void;
    const asked = new Promise<void>((r) => (arrived = r));
    const servers = await Promise.all([0, 1].map(() => serve(() => (asks++, arrived()))));
    try {
      const client = new BazaarClient({ url: servers.map((s) => s.base).join(','), timeoutMs: 600_000 });
      const controller = new AbortController();
      const reading = client.status(controller.signal);
      await asked;
      controller.abort();
      await expect(reading).resolves.toMatchObject({ kind: 'transport', error: 'aborted', attempts: 1 });
      expect(asks).toBe(1);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
