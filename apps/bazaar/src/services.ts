import { join, resolve } from 'node:path';
import { parseReplicaList, DEFAULT_ORDER_REPLICAS, ReplicaAddress } from '@app/contracts';

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
  /**
   * Whether another process serves in its place while it is down: a replica among several, a front
   * end among several. Its restart waits `RESTART_DELAY_MS`; one nothing stands in for (the
   * catalog, a lone front end or replica) is restarted at once (see restartDelay).
   */
  standIn: boolean;
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

/**
 * Where a service bound to `HOST` can be reached from this machine (as a front end names itself:
 * its FRONTEND_ID). The URLs `npm start` hands the services are made from it and from the ports,
 * so a value that makes no URL is named here: the service would name the URL, a setting the user
 * never set.
 */
function reachable(env: NodeJS.ProcessEnv): string {
  const host = env.HOST ?? '127.0.0.1';
  if (host === '0.0.0.0' || host === '::' || host === '[::]' || host === '') return '127.0.0.1';
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  if (!URL.canParse(`http://${shown}:1/`)) throw new UsageError(`HOST must be a host name or an IP address (got ${JSON.stringify(host)})`);
  return shown;
}

/** `env[name]`, a port number (1–65535), or `fallback` when unset. */
function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= 65535)) throw new UsageError(`${name} must be a port number from 1 to 65535 (got ${JSON.stringify(env[name])})`);
  return value;
}

/** The URLs of the front ends `npm start` runs: `FRONTEND_PORT`, the next port, … */
export function frontendUrls(env: NodeJS.ProcessEnv): string[] {
  const host = reachable(env);
  const base = port(env, 'FRONTEND_PORT', 30001);
  const count = frontendCount(env);
  if (base + count - 1 > 65535) throw new UsageError(`FRONTEND_PORT must leave room for ${count} front ends below port 65536 (got ${base})`);
  return Array.from({ length: count }, (_, k) => `http://${host}:${base + k}`);
}

/** Where the catalog `npm start` runs listens: `HOST`, `CATALOG_PORT`. */
export function catalogUrl(env: NodeJS.ProcessEnv): string {
  return `http://${reachable(env)}:${port(env, 'CATALOG_PORT', 10001)}`;
}

/**
 * The replicas `npm start` runs: `ORDER_REPLICAS`; unset, the default list's ids and ports on
 * `HOST` (where they listen). Throws a {@link UsageError} for a malformed list.
 */
export function replicaAddresses(env: NodeJS.ProcessEnv): ReplicaAddress[] {
  if (env.ORDER_REPLICAS) {
    const replicas = parseReplicaList(env.ORDER_REPLICAS);
    if (!replicas) throw new UsageError(`ORDER_REPLICAS is not a list of id=http://host:port entries (got ${JSON.stringify(env.ORDER_REPLICAS)})`);
    return replicas;
  }
  const host = reachable(env);
  return parseReplicaList(DEFAULT_ORDER_REPLICAS)!.map((r) => ({ id: r.id, url: `http://${host}:${new URL(r.url).port}` }));
}

/**
 * The services to run and how to tell that each is ready, from the same environment variables
 * the apps read (defaults as in their schemas). Values are not validated here: each app
 * validates its own configuration at start and says in one line what is wrong.
 *
 * With `FRONTENDS=n`, front end k listens on `FRONTEND_PORT` + k − 1 with a data directory of
 * its own (its epoch file; the cluster token file is passed on by name).
 *
 * Each service is told where the others listen, from the ports and `HOST` they are given, unless
 * the user set the address: the catalog's `FRONTEND_URLS` (unless `FRONTEND_URLS` or, with one
 * front end, `FRONTEND_URL` is set: a list of one cannot name several front ends), the replicas'
 * and front ends' `CATALOG_URL`, and their `ORDER_REPLICAS` (the default ports on `HOST`).
 * Otherwise `FRONTEND_PORT=30005` alone would leave the catalog pushing invalidations to the
 * default port, and `CATALOG_PORT` the others calling it there.
 */
export function serviceSpecs(env: NodeJS.ProcessEnv, selection: Selection): ServiceSpec[] {
  const replicas = replicaAddresses(env);
  const frontends = frontendUrls(env);
  const catalogEnv: Record<string, string> =
    !env.FRONTEND_URLS && (frontends.length > 1 || !env.FRONTEND_URL) ? { FRONTEND_URLS: frontends.join(',') } : {};
  // What the replicas and the front ends share: where the catalog and the replicas are.
  const peersEnv: Record<string, string> = {
    ...(!env.CATALOG_URL && { CATALOG_URL: catalogUrl(env) }),
    ...(!env.ORDER_REPLICAS && { ORDER_REPLICAS: replicas.map((r) => `${r.id}=${r.url}`).join(',') }),
  };
  const tokenFile: Record<string, string> = env.CLUSTER_TOKEN || env.CLUSTER_TOKEN_FILE ? {} : { CLUSTER_TOKEN_FILE: join(dataDir(env), 'cluster-token') };
  const all: ServiceSpec[] = [
    { name: 'catalog', app: 'catalog', env: catalogEnv, readyUrl: `${catalogUrl(env)}/health`, standIn: false },
    ...replicas.map((r) => ({
      name: `order-${r.id}`,
      app: 'order' as const,
      env: { ORDER_ID: String(r.id), ...peersEnv },
      readyUrl: `${r.url}/ping`,
      standIn: replicas.length > 1,
    })),
    // A front end is ready once it names a leader: trades can be taken.
    ...frontends.map((url, k) => ({
      name: frontendName(k + 1),
      app: 'frontend' as const,
      env: k === 0 ? peersEnv : { ...peersEnv, FRONTEND_PORT: new URL(url).port, DATA_DIR: join(dataDir(env), frontendName(k + 1)), ...tokenFile },
      readyUrl: `${url}/leader`,
      standIn: frontends.length > 1,
    })),
  ];
  if (selection.kind === 'all') return all;
  const name = selection.app === 'order' ? `order-${selection.id}` : selection.app === 'frontend' ? frontendName(selection.id ?? 1) : selection.app;
  const one = all.filter((s) => s.name === name);
  if (one.length === 0) {
    throw new UsageError(
      selection.app === 'order'
        ? `replica ${selection.id} is not in ORDER_REPLICAS (${replicas.map((r) => r.id).join(', ')})`
        : frontends.length === 1
          ? `there is 1 front end (FRONTENDS), not ${selection.id}`
          : `there are ${frontends.length} front ends (FRONTENDS), not ${selection.id}`,
    );
  }
  return one;
}

/** The data directory, absolute, as the apps resolve it. */
export function dataDir(env: NodeJS.ProcessEnv): string {
  return resolve(env.DATA_DIR || './data');
}
