import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { shapeFailure, shapeOf } from './error-filter';
import type { ErrorShape, ErrorShapes } from './error-filter';

export const ERROR_SHAPES = Symbol('ERROR_SHAPES');

/** The raw HTTP/1.1 response Node's parser-level handlers must write themselves. */
export function rawJsonResponse(status: number, body: unknown): string {
  const json = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\n' +
    `Content-Length: ${Buffer.byteLength(json)}\r\n` +
    'Connection: close\r\n\r\n' +
    json
  );
}

/** Status and message for an error of Node's HTTP parser (the same statuses Node answers by default). */
export function describeClientError(err: NodeJS.ErrnoException): { status: number; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'request timed out' };
    default:
      return { status: 400, message: 'malformed HTTP request' };
  }
}

/**
 * Answers what never reaches Express in the seed's JSON error shape instead of Node's bare
 * defaults: requests the HTTP parser rejects (unknown method token, bad framing, NUL bytes in a
 * header, headers over 16 KiB…: Node writes a bodiless 400/431), `Expect:` headers other than
 * `100-continue` (a bodiless 417), and `CONNECT` (Node silently drops the connection).
 */
@Injectable()
export class HttpProtocolErrors implements OnApplicationBootstrap {
  constructor(
    private readonly host: HttpAdapterHost,
    @Inject(ERROR_SHAPES) private readonly shapes: ErrorShapes,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.host.httpAdapter?.getHttpServer() as Server | undefined;
    if (server) installProtocolErrorResponses(server, this.shapes);
  }
}

/**
 * The route's failure shape when the bytes the parser gave up on start with a request line naming
 * a route (else `error`): the route is only a guess when the request is broken, and the caller
 * still gets its contract's shape.
 */
function shapeOfRawRequest(shapes: ErrorShapes, err: NodeJS.ErrnoException): ErrorShape {
  const raw = (err as NodeJS.ErrnoException & { rawPacket?: Buffer }).rawPacket;
  // The method and path suffice (a request line over the size limit never ends).
  const line = raw ? /^([A-Z]+) (\/[^\s?#]*)[\s?#]/.exec(raw.subarray(0, 4096).toString('latin1')) : null;
  return line ? shapeOf(shapes, line[1], line[2]) : 'error';
}

export function installProtocolErrorResponses(server: Server, shapes: ErrorShapes = {}): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const busy = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || busy?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = describeClientError(err);
    socket.end(rawJsonResponse(status, shapeFailure(shapeOfRawRequest(shapes, err), { status, message })));
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const status = 405;
    socket.end(rawJsonResponse(status, shapeFailure('error', { status, message: `${req.method} is not supported` })));
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const status = 417;
    const body = JSON.stringify(
      shapeFailure(shapeOf(shapes, req.method ?? 'GET', req.url ?? '/'), { status, message: 'only "Expect: 100-continue" is supported' }),
    );
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(body);
  });
}
