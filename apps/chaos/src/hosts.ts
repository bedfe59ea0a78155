// The layout and the lab without the supervisor (which the unit specs cannot load).
import { acrossHostsLayout } from '@app/testkit/layout';
import { Availability, NetLab } from '@app/testkit/netns';

export { frontendHost, HOST_OF } from '@app/testkit/layout';

/**
 * The cluster of a partition run: every process on its own network namespace host (the layout of
 * the multi-host e2e suite, and with several front ends the partition suite's: front end n on
 * host `frontend<n>`), so that the nemesis can cut the network between any two of them. The chaos
 * process itself stays in the root namespace and reaches every host through its own veth, which
 * no partition touches: clients, probes, the push relays and the final read-back always get through.
 */

/** One namespace per process, with one front end. */
export const HOSTS = ['catalog', 'order1', 'order2', 'order3', 'frontend'] as const;

/** The hosts of a run with `frontends` front ends: {@link HOSTS} (same order, so the same addresses), then `frontend2` … */
export function hostsFor(frontends: number): string[] {
  return [...HOSTS.filter((h) => h !== 'frontend'), ...acrossHostsLayout(frontends).frontendHosts];
}

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
 * Builds the namespaces of one run with `frontends` front ends, after removing those a crashed
 * earlier run left behind. Returns the lab and the names of the stale namespaces removed.
 */
export function createLab(frontends = 1): { lab: NetLab; stale: string[] } {
  const stale = NetLab.removeStale();
  return { lab: NetLab.create(hostsFor(frontends)), stale };
}
