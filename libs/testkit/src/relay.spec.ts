import { once } from 'node:events';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { freePort } from './fixtures';
import { CuttableRelay } from './relay';

/** The relay that loses a catalog's pushes: passes, swallows (the caller times out) or refuses (the caller fails at once). */
describe('CuttableRelay', () => {
  let upstream: Server;
  let relay: CuttableRelay;
  /** What the upstream server received, per connection, and its sockets. */
  let received: string[];
  const sockets: Socket[] = [];

  beforeEach(async () => {
    received = [];
    upstream = createServer((s) => {
      const i = received.push('') - 1;
      sockets.push(s);
      s.on('data', (d) => {
        received[i] += d.toString();
        s.write(`echo:${d.toString()}`);
      });
      s.on('error', () => undefined);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    relay = new CuttableRelay(await freePort(), () => port);
    await relay.start();
  });

  afterEach(async () => {
    await relay.stop();
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((r) => upstream.close(r));
  });

  const open = async (): Promise<Socket> => {
    const s = connect(relay.port, '127.0.0.1');
    s.on('error', () => undefined);
    await once(s, 'connect');
    return s;
  };
  /** Resolves when `s` is closed, however (events.once would reject on its 'error'). */
  const closed = (s: Socket) => new Promise<void>((r) => s.once('close', () => r()));
  const reply = async (s: Socket): Promise<string> => String((await once(s, 'data'))[0]);

  it('passes both ways while not cut', async () => {
    const s = await open();
    s.write('a');
    expect(await reply(s)).toBe('echo:a');
    s.destroy();
  });

  it('swallows what the caller sends while held, on an open connection and on a new one, and drops them when released', async () => {
    const kept = await open();
    kept.write('before');
    expect(await reply(kept)).toBe('echo:before');
    relay.hold = true;
    kept.write('held');
    const fresh = await open();
    fresh.write('held too');
    const bothClosed = Promise.all([closed(kept), closed(fresh)]);
    relay.hold = false;
    await bothClosed;
    expect(received.join('|')).toBe('before|');
    expect(relay.hold).toBe(false);
  });

  it('keeps open connections when told to pass what it already passes', async () => {
    const kept = await open();
    relay.hold = false;
    relay.refuse = false;
    kept.write('still');
    expect(await reply(kept)).toBe('echo:still');
    kept.destroy();
  });

  it('drops open connections at once when it refuses, and every new one until it stops refusing', async () => {
    const kept = await open();
    const keptClosed = closed(kept);
    relay.refuse = true;
    await keptClosed;
    const refused = connect(relay.port, '127.0.0.1');
    refused.on('error', () => undefined);
    refused.on('connect', () => refused.write('refused'));
    await closed(refused);
    relay.refuse = false;
    const again = await open();
    again.write('b');
    expect(await reply(again)).toBe('echo:b');
    again.destroy();
    expect(received).not.toContain('refused');
  });

  it('listens on the address given and connects to the target address given (a namespace lab\'s bridge)', async () => {
    // 127.0.0.2: another loopback address, which nothing else here listens on.
    const port = (upstream.address() as AddressInfo).port;
    const bridged = new CuttableRelay(await freePort(), () => port, { listen: '127.0.0.2', target: () => '127.0.0.1' });
    await bridged.start();
    try {
      expect(bridged.host).toBe('127.0.0.2');
      const s = connect(bridged.port, '127.0.0.2');
      s.on('error', () => undefined);
      await once(s, 'connect');
      s.write('c');
      expect(await reply(s)).toBe('echo:c');
      s.destroy();
    } finally {
      await bridged.stop();
    }
  });
});
