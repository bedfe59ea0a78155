import { CuttableRelay, freePort, frontendName, LOOPBACK, type Cluster, type ClusterOptions } from '@app/testkit';

/** How pushes are lost: swallowed (the catalog's request times out) or refused (it fails at once). */
export type PushLoss = 'swallow' | 'refuse';

/**
 * For the `lose-pushes` fault: each front end is listed at the catalog behind a relay in the
 * harness (`FRONTEND_URLS` and the front end's `FRONTEND_ID` name the relay), so the nemesis can
 * swallow the catalog's invalidation pushes to one front end for a while, while that front end
 * still renews its cache lease straight at the catalog: the lost invalidation that the lease exists
 * for. A relay reaches its front end at the port the cluster gave it ({@link attach}); until then
 * (no front end holds a lease before the cluster is up, so none is pushed to) it drops what comes.
 *
 * On loopback the relays listen on 127.0.0.1. With the cluster on namespace hosts (partition runs)
 * they listen on the root namespace's address on the lab's bridge, which the catalog's host
 * reaches through its own link, and reach each front end at its host's address: a partition
 * between two hosts never touches the root namespace's link, so pushes are lost only when the
 * nemesis loses them here.
 */
export class PushRelays {
  private cluster?: Cluster;

  private constructor(
    /** Front-end process name → the relay the catalog pushes to it through. */
    readonly relays: Map<string, CuttableRelay>,
  ) {}

  /** Starts one relay per front end, listening on `host` (default loopback; a lab's root address for namespace hosts). */
  static async start(frontends: number, host = LOOPBACK): Promise<PushRelays> {
    const relays = new Map<string, CuttableRelay>();
    let self: PushRelays | undefined;
    // A port nothing listens on, for a relay used before the cluster is attached: the connection is refused.
    const target = (name: string) => () => self?.cluster?.ports.get(name) ?? 1;
    const targetHost = (name: string) => () => self?.cluster?.host(name) ?? LOOPBACK;
    try {
      for (let n = 1; n <= frontends; n++) {
        const name = frontendName(n);
        const relay = new CuttableRelay(await freePort(), target(name), { listen: host, target: targetHost(name) });
        relays.set(name, relay);
        await relay.start();
      }
    } catch (e) {
      await Promise.all([...relays.values()].map((r) => r.stop()));
      throw e;
    }
    self = new PushRelays(relays);
    return self;
  }

  /** The cluster whose front ends the relays reach (at its ports, which a restart keeps). */
  attach(cluster: Cluster): void {
    this.cluster = cluster;
  }

  /** What the cluster needs: the front ends' ids (the relays) and the catalog's list of them. */
  clusterOptions(): Pick<ClusterOptions, 'envFor'> {
    const url = (name: string) => {
      const relay = this.relays.get(name)!;
      return `http://${relay.host}:${relay.port}`;
    };
    const names = [...this.relays.keys()];
    return {
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

  /** The front ends whose pushes are lost now (the nemesis loses one's at a time): what the crossing reader aims at. */
  losing(): string[] {
    return [...this.relays].filter(([, r]) => r.hold || r.refuse).map(([name]) => name);
  }

  /** Passes every push again. */
  releaseAll(): void {
    for (const name of this.relays.keys()) this.restore(name);
  }

  stop(): Promise<void> {
    return Promise.all([...this.relays.values()].map((r) => r.stop())).then(() => undefined);
  }
}
