import { Cluster, ClusterOptions } from './cluster';
import { NetLab } from './netns';

/** Which namespace host each process of a cluster runs on when every process has its own. */
export const HOST_OF: Record<string, string> = {
  catalog: 'catalog',
  frontend: 'frontend',
  'order-1': 'order1',
  'order-2': 'order2',
  'order-3': 'order3',
};

/** Every process on its own host keeps its app's default port. */
export const PORTS: Record<string, number> = { catalog: 10001, frontend: 30001, 'order-1': 20001, 'order-2': 20002, 'order-3': 20003 };

/**
 * A bazaar whose processes each run in their own namespace of `lab` (hosts named as in
 * {@link HOST_OF}), bound to that host's address (HOST), reaching one another by those addresses
 * (ORDER_REPLICAS, CATALOG_URL, FRONTEND_URL), each with its own data directory.
 */
export function startAcrossHosts(lab: NetLab, opts: ClusterOptions = {}): Promise<Cluster> {
  return Cluster.start({
    hosts: Object.fromEntries(Object.entries(HOST_OF).map(([proc, host]) => [proc, lab.address(host)])),
    ports: PORTS,
    spawnPrefix: (proc) => lab.spawnPrefix(HOST_OF[proc]),
    dataDirPerProcess: true,
    ...opts,
    // Five node processes and the harness share two cores: a 400 ms ping timeout (the test
    // settings') made the front end depose healthy leaders now and then, before any partition.
    env: { PING_TIMEOUT_MS: '1000', ...opts.env },
  });
}
