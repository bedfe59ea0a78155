import axios, { AxiosInstance } from 'axios';
import { once } from 'node:events';
import { Agent, createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { retryKeepAliveRace } from './http-client';

/**
 * A server that answers the first request on each connection and resets the connection on the
 * second one before answering: what a client meets when the server closes an idle keep-alive
 * connection just as the client reuses it.
 */
async function resettingServer(): Promise<{ server: Server; url: string; handled: string[] }> {
  const handled: string[] = [];
  const served = new WeakMap<object, number>();
  const server = createServer((req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (n > 1) {
      req.socket.destroy();
      return;
    }
    handled.push(req.method!);
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, handled };
}

describe('retryKeepAliveRace', () => {
  let agent: Agent;
  let client: AxiosInstance;
  let target: Awaited<ReturnType<typeof resettingServer>>;

  beforeEach(async () => {
    target = await resettingServer();
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // As the internal client is configured: no redirects (so the request is node's own ClientRequest).
    client = axios.create({ httpAgent: agent, validateStatus: () => true, proxy: false, timeout: 2000, maxRedirects: 0 });
    retryKeepAliveRace(client);
  });

  afterEach(() => {
    agent.destroy();
    target.server.closeAllConnections();
    target.server.close();
  });

  it('sends a GET reset on a reused connection once more, on a fresh connection', async () => {
    expect((await client.get(target.url)).status).toBe(200);
    const second = await client.get(target.url);
    expect(second.data).toEqual({ ok: true });
    expect(target.handled).toEqual(['GET', 'GET']);
  });

  it('reports the reset of a POST: it may have been handled', async () => {
    expect((await client.post(target.url, {})).status).toBe(200);
    await expect(client.post(target.url, {})).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(target.handled).toEqual(['POST']);
  });

  it('reports a reset on a fresh connection: not the keep-alive race', async () => {
    const always = createServer((req) => req.socket.destroy());
    always.listen(0, '127.0.0.1');
    await once(always, 'listening');
    const url = `http://127.0.0.1:${(always.address() as AddressInfo).port}/`;
    try {
      await expect(client.get(url)).rejects.toMatchObject({ code: 'ECONNRESET' });
    } finally {
      always.close();
    }
  });
});
