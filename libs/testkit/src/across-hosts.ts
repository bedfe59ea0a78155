import { Cluster, ClusterOptions } from './cluster';
import { acrossHostsLayout } from './layout';
import { NetLab } from './netns';

/**
 * A bazaar whose processes each run in their own namespace of `lab` (hosts named as in
 * {@link acrossHostsLayout} for `opts.frontends` front ends), bound to that host's address (HOST),
 * reaching one another by those addresses (ORDER_REPLICAS, CATALOG_URL, FRONTEND_URL, and with
 * several front ends the catalog's FRONTEND_URLS), each with its own data directory.
 */
export function startAcrossHosts(lab: NetLab, opts: ClusterOptions = {}): Promise<Cluster> {
  const { hostOf, ports } = acrossHostsLayout(opts.frontends);
  return Cluster.start({
    hosts: Object.fromEntries(Object.entries(hostOf).map(([proc, host]) => [proc, lab.address(host)])),
    ports,
    spawnPrefix: (proc) => lab.spawnPrefix(hostOf[proc]),
    dataDirPerProcess: true,
    ...opts,
    // Five node processes and the harness share two cores: a 400 ms ping timeout (the test
    // settings') made the front end depose healthy leaders now and then, before any partition.
    env: { PING_TIMEOUT_MS: '1000', ...opts.env },
  });
}
