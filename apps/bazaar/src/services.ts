import { resolve } from 'node:path';
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

/** Which services to run: all of them, or one (`npm start -- order 2`). */
export type Selection = { kind: 'all' } | { kind: 'one'; app: ServerApp; id?: number };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses the positional arguments: none, `catalog`, `frontend`, or `order <id>`. */
export function parseSelection(args: string[]): Selection {
  if (args.length === 0) return { kind: 'all' };
  const [app, id, ...rest] = args;
  if (!(SERVER_APPS as readonly string[]).includes(app)) {
    throw new UsageError(`unknown service "${app}": expected catalog, order <id> or frontend`);
  }
  if (app === 'order') {
    if (!id || !/^\d{1,6}$/.test(id) || rest.length > 0) throw new UsageError('expected `order <id>`, e.g. `npm start -- order 2`');
    return { kind: 'one', app, id: Number(id) };
  }
  if (id !== undefined) throw new UsageError(`\`${app}\` takes no further argument`);
  return { kind: 'one', app: app as ServerApp };
}

/** Where a service bound to `host` can be reached from this machine. */
function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The services to run and how to tell that each is ready, from the same environment variables
 * the apps read (defaults as in their schemas). Values are not validated here: each app
 * validates its own configuration at start and says in one line what is wrong.
 */
export function serviceSpecs(env: NodeJS.ProcessEnv, selection: Selection): ServiceSpec[] {
  const host = reachable(env.HOST ?? '127.0.0.1');
  const replicas = parseReplicaList(env.ORDER_REPLICAS || DEFAULT_ORDER_REPLICAS);
  if (!replicas) throw new UsageError(`ORDER_REPLICAS is not a list of id=http://host:port entries (got ${JSON.stringify(env.ORDER_REPLICAS)})`);
  const all: ServiceSpec[] = [
    { name: 'catalog', app: 'catalog', env: {}, readyUrl: `http://${host}:${env.CATALOG_PORT || 10001}/health` },
    ...replicas.map((r) => ({
      name: `order-${r.id}`,
      app: 'order' as const,
      env: { ORDER_ID: String(r.id) },
      readyUrl: `${r.url}/ping`,
    })),
    // The front end is ready once it names a leader: trades can be taken.
    { name: 'frontend', app: 'frontend', env: {}, readyUrl: `http://${host}:${env.FRONTEND_PORT || 30001}/leader` },
  ];
  if (selection.kind === 'all') return all;
  const name = selection.app === 'order' ? `order-${selection.id}` : selection.app;
  const one = all.filter((s) => s.name === name);
  if (one.length === 0) {
    throw new UsageError(`replica ${selection.id} is not in ORDER_REPLICAS (${replicas.map((r) => r.id).join(', ')})`);
  }
  return one;
}

/** The data directory, absolute, as the apps resolve it. */
export function dataDir(env: NodeJS.ProcessEnv): string {
  return resolve(env.DATA_DIR || './data');
}
