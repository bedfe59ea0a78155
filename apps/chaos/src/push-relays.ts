import { CuttableRelay, freePort, frontendName, LOOPBACK, type ClusterOptions } from '@app/testkit';

/** How pushes are lost: swallowed (the catalog's request times out) or refused (it fails at once). */
export type PushLoss = 'swallow' | 'refuse';

/**
 * For the `lose-pushes` fault: each front end is listed at the catalog behind a relay in the
 * harness (`FRONTEND_URLS` and the front end's `FRONTEND_ID` name the relay), so the nemesis can
 * swallow the catalog's invalidation pushes to one front end for a while, while that front end
 * still renews its cache lease straight at the catalog: the lost invalidation that the lease exists
 * for. Every front end gets a fixed port, which its restarts keep.
 */
export class PushRelays {
  private constructor(
    /** Front-end process name → its port. */
    private readonly ports: Map<string, number>,
    /** Front-end process name → the relay the catalog pushes to it through. */
    readonly relays: Map<string, CuttableRelay>,
  ) {}

  static async start(frontends: number): Promise<PushRelays> {
    const ports = new Map<string, number>();
    const relays = new Map<string, CuttableRelay>();
    try {
      for (let n = 1; n <= frontends; n++) {
        const name = frontendName(n);
        const port = await freePort();
        ports.set(name, port);
        const relay = new CuttableRelay(await freePort(), () => port);
        relays.set(name, relay);
        await relay.start();
      }
    } catch (e) {
      await Promise.all([...relays.values()].map((r) => r.stop()));
      throw e;
    }
    return new PushRelays(ports, relays);
  }

  /** What the cluster needs: the front ends' ports, their ids (the relays) and the catalog's list of them. */
  clusterOptions(): Pick<ClusterOptions, 'ports' | 'envFor'> {
    const url = (name: string) => `http://${LOOPBACK}:${this.relays.get(name)!.port}`;
    const names = [...this.ports.keys()];
    return {
      ports: Object.fromEntries(this.ports),
      envFor: {
        catalog: { FRONTEND_URLS: names.map(url).join(',') },
        ...Object.fromEntries(names.map((name) => [name, { FRONTEND_ID: url(name) }])),
      },
    };
  }

  /** Loses the pushes to front end `name`: swallowed (they time out) or refused (they fail at once). */
  lose(name: string, how: PushLoss): void {
    const relay = this.relays.get(name);
    if (!relay) return;
    if (how === 'swallow') relay.hold = true;
    else relay.refuse = true;
  }

  /** Passes the pushes to front end `name` again. */
  restore(name: string): void {
    const relay = this.relays.get(name);
    if (!relay) return;
    relay.refuse = false;
    relay.hold = false;
  }

  /** Passes every push again. */
  releaseAll(): void {
    for (const name of this.relays.keys()) this.restore(name);
  }

  stop(): Promise<void> {
    return Promise.all([...this.relays.values()].map((r) => r.stop())).then(() => undefined);
  }
}
