import { createServer, request, Server } from 'node:http';
import { connect, createServer as createNetServer, Server as NetServer, Socket } from 'node:net';
import { sleep } from './cluster';

/**
 * A loopback HTTP proxy that forwards every request to `target()` and holds each *response* for
 * a random time before relaying it. Placed between the front end and the catalog, it lets a
 * lookup read the catalog before a trade commits and deliver that older value to the front end
 * only after the catalog's invalidation push has arrived — the race the cache's per-stock
 * version must win. Without it the window is a fraction of a millisecond on loopback.
 */
export class DelayProxy {
  private server?: Server;
  /** Responses relayed so far. */
  relayed = 0;
  /** Responses to requests it matches wait for its promise (see {@link holdResponses}). */
  private hold?: { matches: (method: string, path: string) => boolean; released: Promise<void> };

  constructor(
    private readonly port: number,
    private readonly target: () => string,
    private readonly maxDelayMs: number,
  ) {}

  start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.target());
      const held = this.hold?.matches(req.method ?? 'GET', url.pathname) ? this.hold.released : undefined;
      const upstream = request(
        url,
        { method: req.method, headers: { ...req.headers, host: url.host }, timeout: 10000 },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', async () => {
            await held;
            await sleep(Math.random() * this.maxDelayMs);
            const headers = { ...up.headers };
            delete headers['transfer-encoding'];
            const body = Buffer.concat(chunks);
            headers['content-length'] = String(body.length);
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(body);
            this.relayed++;
          });
          up.on('error', () => res.destroy());
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    return new Promise((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.port, '127.0.0.1', () => res());
    });
  }

  /**
   * From now on, holds the responses to the requests that `matches` (method, path) until the
   * function returned is called: one answer can then be made to arrive after later events.
   */
  holdResponses(matches: (method: string, path: string) => boolean): () => void {
    let release!: () => void;
    this.hold = { matches, released: new Promise<void>((r) => (release = r)) };
    return () => {
      this.hold = undefined;
      release();
    };
  }

  stop(): Promise<void> {
    return new Promise((res) => {
      if (!this.server) return res();
      this.server.closeAllConnections();
      this.server.close(() => res());
    });
  }
}

/**
 * A TCP proxy that delays every chunk, in each direction, by a fixed `delayMs` (order kept):
 * one-way network latency on a link, for a kernel without netem. Listens on `host:port` and
 * connects each accepted connection to `target`. {@link delayMs} may be changed while it runs
 * (0: relay at once).
 */
export class TcpDelayProxy {
  private server?: NetServer;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly target: { host: string; port: number },
    public delayMs: number,
  ) {}

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  start(): Promise<void> {
    this.server = createNetServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.setNoDelay(true);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      this.pipeDelayed(client, upstream);
      this.pipeDelayed(upstream, client);
    });
    return new Promise((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.port, this.host, () => res());
    });
  }

  /** Relays `from` → `to`, each chunk `delayMs` after it arrived and never before the one before it. */
  private pipeDelayed(from: Socket, to: Socket): void {
    let last = 0;
    from.on('data', (chunk: Buffer) => {
      const due = Math.max(Date.now() + this.delayMs, last);
      last = due;
      const send = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (due <= Date.now()) send();
      else setTimeout(send, due - Date.now());
    });
    from.once('end', () => {
      const wait = Math.max(0, last - Date.now());
      setTimeout(() => to.end(), wait);
    });
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((res) => {
      if (!this.server) return res();
      this.server.close(() => res());
    });
  }
}

/**
 * A TCP proxy whose first `drops` connections deliver their request to `target` but lose its
 * answer: when the answer starts to come back, the client's connection is reset instead. The
 * request took effect, and the client got no answer — a response lost on the way, as when the
 * front end held a trade past the client's timeout. Later connections are relayed as they are.
 */
export class AnswerDroppingProxy {
  private server?: NetServer;
  private readonly sockets = new Set<Socket>();
  /** Answers lost so far. */
  dropped = 0;

  constructor(
    private readonly port: number,
    private readonly target: { host: string; port: number },
    /** Connections still to lose the answer of; may be changed while it runs. */
    public drops: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    this.server = createNetServer((client) => {
      const drop = this.drops > 0;
      if (drop) this.drops--;
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      if (!drop) {
        upstream.pipe(client);
        return;
      }
      upstream.once('data', () => {
        this.dropped++;
        client.resetAndDestroy();
        upstream.destroy();
      });
    });
    return new Promise((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.port, '127.0.0.1', () => res());
    });
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((res) => {
      if (!this.server) return res();
      this.server.close(() => res());
    });
  }
}
