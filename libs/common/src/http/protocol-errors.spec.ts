import { createServer, Server } from 'node:http';
import { connect } from 'node:net';
import { installProtocolErrorResponses } from './protocol-errors';

/** Regressions found by test/fuzz.e2e-spec.ts: Node answered these with no body, or dropped the connection. */
describe('protocol-level errors', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('{}'));
    installProtocolErrorResponses(server, { 'POST /orders': 'order' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const send = (raw: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write(raw));
      let out = '';
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
  const parse = (out: string) => ({ status: Number(out.slice(9, 12)), body: JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) });

  it.each([
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a NUL in a header', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n', 400],
    ['headers over 16 KiB', `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20000)}\r\n\r\n`, 431],
    ['a CONNECT', 'CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n', 405],
    ['an unknown expectation', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: nope\r\nConnection: close\r\n\r\n', 417],
  ])('answers %s in the JSON error shape, typed and not to be sniffed', async (_what, raw, status) => {
    const out = await send(raw);
    const res = parse(out);
    expect(res.status).toBe(status);
    const head = out.slice(0, out.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toContain('\r\ncontent-type: application/json; charset=utf-8');
    expect(head).toContain('\r\nx-content-type-options: nosniff');
    expect(res.body).toEqual({ error: { code: status, message: expect.any(String) } });
  });

  it("uses the route's shape when the request line names a route", async () => {
    const res = parse(await send(`POST /orders?x=${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(res).toEqual({ status: 431, body: { order_no: -1, message: 'request headers are too large' } });
  });
});
