import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Controller, Get, INestApplication, Module, Query, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestApplicationOptions } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BazaarExpressAdapter, type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './express-adapter';

@Controller()
class ProbeController {
  @Get('probe')
  probe(@Query('q') q: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Record<string, unknown> {
    res.set('x-probe', 'yes');
    return {
      q,
      path: req.path,
      ip: req.ip,
      isIncomingMessage: req instanceof IncomingMessage,
      isServerResponse: res instanceof ServerResponse,
    };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

interface Started {
  app: INestApplication;
  url: string;
  /** The prototype each request had when the HTTP server handed it over, before Express saw it. */
  arrivals: { req: object | null; res: object | null }[];
  express: { request: object; response: object };
}

async function start(options: NestApplicationOptions = {}, limits?: ConnectionLimits): Promise<Started> {
  const adapter = new BazaarExpressAdapter(limits);
  const app = await NestFactory.create(ProbeModule, adapter, { logger: false, ...options });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  const arrivals: Started['arrivals'] = [];
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
    arrivals.push({ req: Object.getPrototypeOf(req) as object, res: Object.getPrototypeOf(res) as object }),
  );
  const { port } = server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, arrivals, express: adapter.getInstance() };
}

describe('BazaarExpressAdapter', () => {
  let started: Started | undefined;
  afterEach(async () => {
    await started?.app.close();
    started = undefined;
  });

  it("hands Express requests and responses that already have its prototypes, so its setPrototypeOf changes nothing", async () => {
    started = await start();
    const res = await fetch(`${started.url}/probe?q=1`);
    expect(res.status).toBe(200);
    expect(started.arrivals).toHaveLength(1);
    expect(started.arrivals[0].req).toBe(started.express.request);
    expect(started.arrivals[0].res).toBe(started.express.response);
  });

  it('keeps Express and node behaviour: query, path, ip, headers, JSON, instanceof', async () => {
    started = await start();
    const res = await fetch(`${started.url}/probe?q=hello`);
    expect(res.headers.get('x-probe')).toBe('yes');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ q: 'hello', path: '/probe', ip: '127.0.0.1', isIncomingMessage: true, isServerResponse: true });
    const missing = await fetch(`${started.url}/nothing-here`);
    expect(missing.status).toBe(404);
  });

  describe('what one client may hold (slowloris held a front end at its open-file limit)', () => {
    const sockets: Socket[] = [];
    afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));
    /** A raw connection, resolved once connected; `closed` settles when the server closes it. */
    const open = (url: string) =>
      new Promise<{ socket: Socket; closed: Promise<string> }>((resolve, reject) => {
        const { port } = new URL(url);
        const socket = connect(Number(port), '127.0.0.1');
        sockets.push(socket);
        let received = '';
        socket.setEncoding('utf8').on('data', (d: string) => (received += d));
        const closed = new Promise<string>((r) => socket.once('close', () => r(received)));
        socket.once('connect', () => resolve({ socket, closed }));
        socket.once('error', reject);
      });

    it('closes a connection from an address that already holds the most it may, and takes one again once a place is free', async () => {
      started = await start({}, { ...DEFAULT_CONNECTION_LIMITS, perClient: 2 });
      const [first] = [await open(started.url), await open(started.url)];
      const third = await open(started.url);
      expect(await third.closed).toBe(''); // closed at once, without an answer
      first.socket.destroy();
      await first.closed;
      await new Promise((r) => setTimeout(r, 50)); // the server sees that close
      const res = await fetch(`${started.url}/probe?q=3`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
    });

    it('still times out the connections it holds after refusing others', async () => {
      started = await start({}, { perClient: 2, headersTimeoutMs: 300, requestTimeoutMs: 600 });
      const held = [await open(started.url), await open(started.url)];
      const refused = await Promise.all([1, 2, 3].map(() => open(started!.url)));
      for (const r of refused) expect(await r.closed).toBe('');
      for (const h of held) h.socket.write('GET /probe HTTP/1.1\r\nHost: x\r\n');
      for (const h of held) expect(await h.closed).toMatch(/^HTTP\/1\.1 408/);
    });

    it('closes a connection whose headers do not come in full within the headers timeout (408)', async () => {
      started = await start({}, { perClient: 0, headersTimeoutMs: 300, requestTimeoutMs: 600 });
      const slow = await open(started.url);
      slow.socket.write('GET /probe HTTP/1.1\r\nHost: x\r\n'); // and never the end of its headers
      expect(await slow.closed).toMatch(/^HTTP\/1\.1 408/);
    });

    it('closes a connection whose body does not come in full within the request timeout (408)', async () => {
      started = await start({}, { perClient: 0, headersTimeoutMs: 300, requestTimeoutMs: 600 });
      const slow = await open(started.url);
      slow.socket.write('POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{'); // a byte of 60000
      const timer = setInterval(() => slow.socket.write(' '), 100); // trickled, a byte at a time
      try {
        // (This probe app has no POST route and answers 404 before the body; the 408 and the close follow.)
        expect(await slow.closed).toMatch(/HTTP\/1\.1 408 Request Timeout\r\nConnection: close/);
      } finally {
        clearInterval(timer);
      }
    });
  });

  it('keeps an idle keep-alive connection as long as it is told, and says so in its hint', async () => {
    started = await start({}, { ...DEFAULT_CONNECTION_LIMITS, keepAliveTimeoutMs: 65_000 });
    expect((started.app.getHttpServer() as Server).keepAliveTimeout).toBe(65_000);
    const res = await fetch(`${started.url}/probe`);
    await res.text();
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
  });

  it("keeps node's 5 s when not told", async () => {
    started = await start({}, DEFAULT_CONNECTION_LIMITS);
    expect((started.app.getHttpServer() as Server).keepAliveTimeout).toBe(5000);
  });

  it("falls back to Nest's own server when options need it (forceCloseConnections)", async () => {
    started = await start({ forceCloseConnections: true });
    const res = await fetch(`${started.url}/probe?q=2`);
    expect(res.status).toBe(200);
    expect(started.arrivals[0].req).toBe(IncomingMessage.prototype);
  });
});
