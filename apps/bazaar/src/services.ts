import { join, resolve } from 'node:path';
import { parseReplicaList, DEFAULT_ORDER_REPLICAS } from '@app/contracts';

/** The server apps `npm start` runs. */
export const SERVER_APPS = ['catalog', 'order', 'frontend'] as const;
export type ServerApp = (typeof SERVER_APPS)[number];

/** One process the supervisor runs. */
export interface ServiceSpec {
  /** `catalog`, `order-2`, `frontend`: the log prefix and what the user types to restart it. */
  name: string;
  app: ServerApp;
  /** Environment added to the supervisor's own for this process. */
  env: Record<string, string>;
  /** Answers 200 once the service is ready (a replica: recovered). */
  readyUrl: string;
}

/** Which services to run: all of them, or one (`npm start -- order 2`, `npm start -- frontend 2`). */
export type Selection = { kind: 'all' } | { kind: 'one'; app: ServerApp; id?: number };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses the positional arguments: none, `catalog`, `frontend [n]`, or `order <id>`. */
export function parseSelection(args: string[]): Selection {
  if (args.length === 0) return { kind: 'all' };
  const [app, id, ...rest] = args;
  if (!(SERVER_APPS as readonly string[]).includes(app)) {
    throw new UsageError(`unknown service "${app}": expected catalog, order <id> or frontend [n]`);
  }
  if (app === 'order') {
    if (!id || !/^\d{1,6}$/.test(id) || rest.length > 0) throw new UsageError('expected `order <id>`, e.g. `npm start -- order 2`');
    return { kind: 'one', app, id: Number(id) };
  }
  if (app === 'frontend' && id !== undefined) {
    if (!/^[1-9]$/.test(id) || rest.length > 0) throw new UsageError('expected `frontend [n]`, e.g. `npm start -- frontend 2`');
    return { kind: 'one', app, id: Number(id) };
  }
  if (id !== undefined) throw new UsageError(`\`${app}\` takes no further argument`);
  return { kind: 'one', app: app as ServerApp };
}

/** How many front ends `npm start` runs (`FRONTENDS`, 1–9). */
export function frontendCount(env: NodeJS.ProcessEnv): number {
  const raw = env.FRONTENDS?.trim() || '1';
  if (!/^[1-9]$/.test(raw)) throw new UsageError(`FRONTENDS must be a whole number from 1 to 9 (got ${JSON.stringify(env.FRONTENDS)})`);
  return Number(raw);
}

/** Name of front end `n`: `frontend` for the first, `frontend-2` … for the others. */
export const frontendName = (n: number) => (n === 1 ? 'frontend' : `frontend-${n}`);

/** Where a service bound to `host` can be reached from this machine. */
function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The URLs of the front ends `npm start` runs: `FRONTEND_PORT`, the next port, … */
export function frontendUrls(env: NodeJS.ProcessEnv): string[] {
  const host = reachable(env.HOST ?? '127.0.0.1');
  const base = Number(env.FRONTEND_PORT || 30001);
  return Array.from({ length: frontendCount(env) }, (_, k) => `http://${host}:${base + k}`);
}

/**
 * The services to run and how to tell that each is ready, from the same environment variables
 * the apps read (defaults as in their schemas). Values are not validated here: each app
 * validates its own configuration at start and says in one line what is wrong.
 *
 * With `FRONTENDS=n`, front end k listens on `FRONTEND_PORT` + k − 1 with a data directory of
 * its own (its epoch file; the cluster token file is passed on by name), and the catalog's
 * `FRONTEND_URLS` lists them all unless it is set.
 */
export function serviceSpecs(env: NodeJS.ProcessEnv, selection: Selection): ServiceSpec[] {
  const host = reachable(env.HOST ?? '127.0.0.1');
  const replicas = parseReplicaList(env.ORDER_REPLICAS || DEFAULT_ORDER_REPLICAS);
  if (!replicas) throw new UsageError(`ORDER_REPLICAS is not a list of id=http://host:port entries (got ${JSON.stringify(env.ORDER_REPLICAS)})`);
  const frontends = frontendUrls(env);
  const catalogEnv: Record<string, string> = frontends.length > 1 && !env.FRONTEND_URLS ? { FRONTEND_URLS: frontends.join(',') } : {};
  const tokenFile = env.CLUSTER_TOKEN || env.CLUSTER_TOKEN_FILE ? {} : { CLUSTER_TOKEN_FILE: join(dataDir(env), 'cluster-token') };
  const all: ServiceSpec[] = [
    { name: 'catalog', app: 'catalog', env: catalogEnv, readyUrl: `http://${host}:${env.CATALOG_PORT || 10001}/health` },
    ...replicas.map((r) => ({
      name: `order-${r.id}`,
      app: 'order' as const,
      env: { ORDER_ID: String(r.id) },
      readyUrl: `${r.url}/ping`,
    })),
    // A front end is ready once it names a leader: trades can be taken.
    ...frontends.map((url, k) => ({
      name: frontendName(k + 1),
      app: 'frontend' as const,
      env: k === 0 ? {} : { FRONTEND_PORT: new URL(url).port, DATA_DIR: join(dataDir(env), frontendName(k + 1)), ...tokenFile },
      readyUrl: `${url}/leader`,
    })),
  ];
  if (selection.kind === 'all') return all;
  const name = selection.app === 'order' ? `order-${selection.id}` : selection.app === 'frontend' ? frontendName(selection.id ?? 1) : selection.app;
  const one = all.filter((s) => s.name === name);
  if (one.length === 0) {
    throw new UsageError(
      selection.app === 'order'
        ? `replica ${selection.id} is not in ORDER_REPLICAS (${replicas.map((r) => r.id).join(', ')})`
        : `there are ${frontends.length} front ends (FRONTENDS), not ${selection.id}`,
    );
  }
  return one;
}

/** The data directory, absolute, as the apps resolve it. */
export function dataDir(env: NodeJS.ProcessEnv): string {
  return resolve(env.DATA_DIR || './data');
}
