import { ConfigService } from '@nestjs/config';
import { createServer, type Server, type Socket } from 'node:net';
import { HopClient } from '@app/common';
import type { CommonEnv } from '@app/contracts';
import { unreachableCause } from './replicas.client';

describe('unreachableCause', () => {
  it('names a refused connection, a timeout, and anything else', () => {
    expect(unreachableCause(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('refused');
    expect(unreachableCause(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('timeout');
    expect(unreachableCause(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe('timeout');
    expect(unreachableCause(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))).toBe('error');
    expect(unreachableCause(undefined)).toBe('error');
  });

  describe("on HopClient's own rejections", () => {
    const hops = new HopClient({ get: () => undefined } as unknown as ConfigService<CommonEnv, true>);
    let silent: Server;
    const held = new Set<Socket>();
    let closedPort: number;
    beforeAll(async () => {
      // A port nothing listens on: bound, noted, closed again.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      closedPort = (probe.address() as { port: number }).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      // A server that accepts connections and never answers.
      silent = createServer((socket) => held.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await hops.onModuleDestroy();
    });

    it('is refused when nothing listens', async () => {
      const err = await hops.get(`http://127.0.0.1:${closedPort}/replication/status`, { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(unreachableCause(err)).toBe('refused');
    });

    it('is timeout when the replica does not answer in time', async () => {
      const { port } = silent.address() as { port: number };
      const err = await hops.get(`http://127.0.0.1:${port}/replication/status`, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(unreachableCause(err)).toBe('timeout');
    });
  });
});
