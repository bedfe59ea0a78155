import { Availability, NetLab } from '@app/testkit';

export { HOST_OF, startAcrossHosts } from '@app/testkit';

/**
 * The cluster of a partition run: every process on its own network namespace host (the layout of
 * the multi-host e2e suite), so that the nemesis can cut the network between any two of them. The
 * chaos process itself stays in the root namespace and reaches every host through its own veth,
 * which no partition touches: clients, probes and the final read-back always get through.
 */

/** One namespace per process. */
export const HOSTS = ['catalog', 'order1', 'order2', 'order3', 'frontend'] as const;

/** The namespace host of replica `id`. */
export const replicaHost = (id: number) => `order${id}`;

/**
 * Whether the partition nemesis can run here: root, `ip netns` and `nft` inside a namespace (it
 * cuts links both with blackhole routes and with nftables drop rules).
 */
export function partitionAvailability(): Availability {
  return NetLab.available(true);
}

/**
 * Builds the namespaces of one run, after removing those a crashed earlier run left behind.
 * Returns the lab and the names of the stale namespaces removed.
 */
export function createLab(): { lab: NetLab; stale: string[] } {
  const stale = NetLab.removeStale();
  return { lab: NetLab.create([...HOSTS]), stale };
}
