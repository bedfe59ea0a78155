import { connect, createServer, Server, Socket } from 'node:net';
import { LOOPBACK } from './fixtures';

/** Where a {@link CuttableRelay} listens and where it connects to (default loopback both). */
export interface RelayHosts {
  /** The address it listens on: e.g. the root namespace's address on a {@link NetLab}'s bridge, which every host reaches. */
  listen?: string;
  /** The address of what it relays to, asked at each connection (with {@link CuttableRelay}'s port). */
  target?: () => string;
}

/**
 * A TCP relay a test or the chaos harness can cut, two ways:
 * - while `hold` is set, what the caller sends is swallowed — on new connections and on kept-alive
 *   ones alike — so its request times out (a lost push); releasing it drops the connections it
 *   held, which the caller then sees fail;
 * - while `refuse` is set, every connection is dropped at once, open ones included, so the caller's
 *   request fails at once (a push refused).
 */
export class CuttableRelay {
  private server?: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private holding = false;
  private refusing = false;

  constructor(
    readonly port: number,
    private readonly target: () => number,
    private readonly hosts: RelayHosts = {},
  ) {}

  /** The address it listens on. */
  get host(): string {
    return this.hosts.listen ?? LOOPBACK;
  }

  get hold(): boolean {
    return this.holding;
  }

  set hold(on: boolean) {
    if (on === this.holding) return; // releasing a relay that holds nothing drops nothing
    this.holding = on;
    for (const p of this.pairs) {
      if (on) p.client.unpipe(p.upstream);
      else {
        p.client.destroy();
        p.upstream.destroy();
      }
    }
  }

  get refuse(): boolean {
    return this.refusing;
  }

  set refuse(on: boolean) {
    this.refusing = on;
    if (on) for (const p of this.pairs) p.client.destroy();
  }

  start(): Promise<void> {
    this.server = createServer((client) => {
      client.on('error', () => client.destroy());
      if (this.refusing) return void client.destroy();
      const upstream = connect(this.target(), this.hosts.target?.() ?? LOOPBACK);
      const pair = { client, upstream };
      this.pairs.add(pair);
      upstream.on('error', () => client.destroy());
      client.on('close', () => (upstream.destroy(), this.pairs.delete(pair)));
      upstream.on('close', () => client.destroy());
      upstream.pipe(client);
      if (this.holding) client.resume(); // swallowed: the caller times out
      else client.pipe(upstream);
    });
    return new Promise((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.port, this.host, () => res());
    });
  }

  stop(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    return new Promise((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}
