import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, INestApplication, Module, Query, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestApplicationOptions } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BazaarExpressAdapter } from './express-adapter';

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

async function start(options: NestApplicationOptions = {}): Promise<Started> {
  const adapter = new BazaarExpressAdapter();
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

  it("falls back to Nest's own server when options need it (forceCloseConnections)", async () => {
    started = await start({ forceCloseConnections: true });
    const res = await fetch(`${started.url}/probe?q=2`);
    expect(res.status).toBe(200);
    expect(started.arrivals[0].req).toBe(IncomingMessage.prototype);
  });
});
