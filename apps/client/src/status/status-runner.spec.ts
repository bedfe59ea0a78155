import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BazaarClient } from '@app/loadgen';
import type { CliIo } from '../cli/cli-io';
import { runStatus } from './status-runner';

describe('runStatus --watch', () => {
  it('stops at the first Ctrl-C even while a reading waits on a front end that never answers', async () => {
    const sockets = new Set<Socket>();
    let arrived!: () => void;
    const asked = new Promise<void>((r) => (arrived = r));
    const server: Server = createServer(() => arrived()); // accepts, never answers
    server.on('connection', (s: Socket) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let interrupt: (() => void) | undefined;
    const out: string[] = [];
    const io: CliIo = {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
      env: {},
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => (interrupt = undefined);
      },
    };
    try {
      // The reading's timeout is 10 minutes: only the Ctrl-C can end this test in time.
      const run = runStatus(io, new BazaarClient({ url: base, timeoutMs: 600_000 }), base, { watch: true });
      await asked;
      interrupt!();
      await expect(run).resolves.toBe(0);
      expect(interrupt).toBeUndefined(); // the handler was removed
      expect(out).toEqual([]); // nothing drawn for the abandoned reading
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
