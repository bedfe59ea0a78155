import { describe, expect, it } from '@jest/globals';
import type { HttpAdapterHost } from '@nestjs/core';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDrain } from './graceful-shutdown';

/** A server whose requests HttpDrain tracks, each held until the test answers it. */
async function heldServer() {
  const held: ServerResponse[] = [];
  const server = createServer();
  const drain = new HttpDrain({ httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost);
  server.on('request', (req, res) => {
    drain.started(req, res);
    res.on('finish', () => drain.finished({ res } as Parameters<HttpDrain['finished']>[0]));
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  drain.onApplicationBootstrap();
  const get = () =>
    new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', path: '/' }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      })
        .on('error', reject)
        .end();
    });
  const inflight = async (n: number) => {
    while (held.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  return { drain, held, get, inflight };
}

describe('HttpDrain', () => {
  it('aborts `stopping` when the drain begins, once, with the request in flight still answered (Connection: close)', async () => {
    const { drain, held, get, inflight } = await heldServer();
    expect(drain.stopping.aborted).toBe(false);
    expect(drain.isDraining).toBe(false);
    let abortedInFlight = 0;
    const answer = get();
    await inflight(1);
    drain.stopping.addEventListener('abort', () => abortedInFlight = drain.inflightCount);
    const drained = drain.drain(5_000);
    expect(drain.stopping.aborted).toBe(true);
    expect(drain.isDraining).toBe(true);
    // The signal is told while the request is in flight, so what listens can still answer it.
    expect(abortedInFlight).toBe(1);
    expect(drain.drain(5_000)).toBe(drained);
    held[0].end('ok');
    await expect(answer).resolves.toEqual({ status: 200, connection: 'close' });
    await drained;
    expect(drain.inflightCount).toBe(0);
  });
});
