import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster, type ClusterOptions } from '@app/testkit';
import type { ChildRegistry } from './lifecycle';

const PROCESS_NAMES = ['catalog', 'order-1', 'order-2', 'order-3', 'frontend'];

/**
 * Starts a fresh cluster (built apps, free loopback ports, temporary data directory), runs `body`
 * with it and always stops it — on success, on an exception and on Ctrl-C (the body is expected
 * to watch the abort signal). When `logsDir` is given the processes' logs are copied there first.
 */
export async function withCluster<T>(
  options: ClusterOptions,
  children: ChildRegistry,
  body: (cluster: Cluster) => Promise<T>,
  logsDir?: string,
): Promise<T> {
  const cluster = await Cluster.start(options);
  const untrack = children.trackCluster(cluster);
  try {
    return await body(cluster);
  } finally {
    if (logsDir) await saveLogs(cluster, logsDir).catch(() => undefined);
    await cluster.stop();
    untrack();
  }
}

async function saveLogs(cluster: Cluster, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of PROCESS_NAMES) {
    const text = cluster.log(name);
    if (text !== '') await writeFile(join(dir, `${name}.log`), text, 'utf8');
  }
}
