import { connect } from 'node:net';

/**
 * A bare HTTP/1.1 client over a TCP socket, for fuzzing: it sends exactly what it is given
 * (any method, any path bytes, duplicate or malformed headers, a body that disagrees with its
 * Content-Length …), which `fetch` and `node:http` refuse to do. One request per connection.
 */
export interface RawRequest {
  method: string;
  /** Request target, sent verbatim (include the query string). */
  path: string;
  /** Header lines in order; duplicates allowed. `Host` and `Connection: close` are added unless present. */
  headers?: [string, string][];
  body?: string | Buffer;
  /** Do not add a Content-Length for the body (e.g. the caller sends chunked framing itself). */
  noContentLength?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON (or empty). */
  json: unknown;
}

/** No response at all: the server closed, reset or ignored the connection. */
export class DroppedConnection extends Error {}

export function sendRaw(port: number, req: RawRequest, timeoutMs = 20000): Promise<RawResponse> {
  const headers = [...(req.headers ?? [])];
  const has = (name: string) => headers.some(([k]) => k.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', `127.0.0.1:${port}`]);
  if (!has('connection')) headers.push(['Connection', 'close']);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  if (body && !req.noContentLength && !has('content-length') && !has('transfer-encoding')) {
    headers.push(['Content-Length', String(body.length)]);
  }
  const head = Buffer.from(
    `${req.method} ${req.path} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`,
    'latin1',
  );
  return sendBytes(port, body ? Buffer.concat([head, body]) : head, timeoutMs, req.method === 'HEAD');
}

/** Sends raw bytes and reads one response until the server closes the connection. */
export function sendBytes(port: number, bytes: Buffer, timeoutMs = 20000, head = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      try {
        resolve(parseResponse(all, head));
      } catch (e) {
        reject(new DroppedConnection(`${why}; ${(e as Error).message}; received ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
      }
    };
    const socket = connect(port, '127.0.0.1', () => {
      // The server may answer (413, 400) and close before it has read everything: that is fine.
      socket.write(bytes, () => undefined);
    });
    socket.on('data', (d) => {
      chunks.push(d);
      // Resolve as soon as one complete response is in (a server may keep the socket open).
      if (!settled) {
        try {
          const all = Buffer.concat(chunks);
          if (complete(all, head)) finish('complete');
        } catch {
          /* not complete yet */
        }
      }
    });
    socket.on('end', () => finish('connection ended'));
    socket.on('close', () => finish('connection closed'));
    socket.on('error', (e) => finish(`socket error ${e.message}`));
    const timer = setTimeout(() => finish(`no complete response within ${timeoutMs} ms`), timeoutMs);
  });
}

function splitHead(all: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | undefined {
  let buf = all;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const rest = buf.subarray(end + 4);
    if (status >= 100 && status < 200) {
      buf = rest; // interim response (100 Continue): the real one follows
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return { status, headers, rest };
  }
}

function dechunk(buf: Buffer): Buffer | undefined {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(out);
    if (buf.length < eol + 2 + size + 2) return undefined;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function bodyOf(p: { headers: Record<string, string>; rest: Buffer }, head: boolean, final: boolean): Buffer | undefined {
  if (head) return Buffer.alloc(0);
  if (/chunked/i.test(p.headers['transfer-encoding'] ?? '')) return dechunk(p.rest);
  const len = p.headers['content-length'];
  if (len !== undefined) return p.rest.length >= Number(len) ? p.rest.subarray(0, Number(len)) : undefined;
  return final ? p.rest : undefined;
}

function complete(all: Buffer, head: boolean): boolean {
  const p = splitHead(all);
  return !!p && bodyOf(p, head, false) !== undefined;
}

function parseResponse(all: Buffer, head: boolean): RawResponse {
  if (all.length === 0) throw new Error('no bytes at all');
  const p = splitHead(all);
  if (!p) throw new Error('incomplete response head');
  const body = bodyOf(p, head, true);
  if (body === undefined) throw new Error('incomplete response body');
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: p.status, headers: p.headers, text, json };
}
