import { Availability, Cluster, ClusterOptions, NetLab } from '@app/testkit';

/**
 * The cluster of a partition run: every process on its own network namespace host (the layout of
 * the multi-host e2e suite), so that the nemesis can cut the network between any two of them. The
 * chaos process itself stays in the root namespace and reaches every host through its own veth,
 * which no partition touches: clients, probes and the final read-back always get through.
 */

/** One namespace per process. */
export const HOSTS = ['catalog', 'order1', 'order2', 'order3', 'frontend'] as const;

/** Which host each process of the cluster runs on. */
export const HOST_OF: Record<string, string> = {
  catalog: 'catalog',
  frontend: 'frontend',
  'order-1': 'order1',
  'order-2': 'order2',
  'order-3': 'order3',
};

/** Each process on its own host keeps its app's default port. */
const PORTS: Record<string, number> = { catalog: 10001, frontend: 30001, 'order-1': 20001, 'order-2': 20002, 'order-3': 20003 };

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

/**
 * Starts the bazaar across the lab's hosts: each process bound to its host's address, reaching the
 * others by those addresses, with its own data directory.
 */
export function startAcrossHosts(lab: NetLab, opts: ClusterOptions = {}): Promise<Cluster> {
  return Cluster.start({
    hosts: Object.fromEntries(Object.entries(HOST_OF).map(([proc, host]) => [proc, lab.address(host)])),
    ports: PORTS,
    spawnPrefix: (proc) => lab.spawnPrefix(HOST_OF[proc]),
    dataDirPerProcess: true,
    ...opts,
    // Five node processes and the harness share two cores: a 400 ms ping timeout (TEST_ENV) made
    // the front end depose healthy leaders now and then, before any partition.
    env: { PING_TIMEOUT_MS: '1000', ...opts.env },
  });
}
