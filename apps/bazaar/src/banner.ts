import { isAbsolute, relative } from 'node:path';
import { DEFAULT_URL } from '@app/loadgen';
import { RestartOptions } from './restart-policy';
import { catalogUrl, frontendUrls, replicaAddresses } from './services';
import { formatMs } from './supervisor';

/** The front end's leader, or null when it does not answer. */
async function leaderOf(frontend: string): Promise<number | null> {
  try {
    const res = await fetch(`${frontend}/leader`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 ? ((await res.json()) as { leader: number }).leader : null;
  } catch {
    return null;
  }
}

/**
 * `path` as `npm start` shows it: relative to the working directory when inside it (`data`), else
 * as given (`/var/lib/bazaar`, not `../../var/lib/bazaar`).
 */
export function shownPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  if (rel === '') return '.';
  return rel === '..' || rel.startsWith('../') || isAbsolute(rel) ? path : rel;
}

/** The client command that runs `args` against `frontend` (`--url` unless it is the client's default). */
export function clientCommand(args: string, frontend: string): string {
  return `npm run client -- ${args}${frontend === DEFAULT_URL ? '' : ` --url ${frontend}`}`;
}

/**
 * The banner's line on restarts: after `RESTART_DELAY_MS` for what another process stands in for
 * meanwhile (replicas, front ends when there are several), at once for the rest (see restartDelay).
 */
export function restartLine(restart: RestartOptions, frontends: number, replicas: number): string {
  if (!restart.enabled) return '  restarts are off: a service that dies stays down';
  const later = [replicas > 1 && 'a replica', frontends > 1 && 'a front end'].filter((x): x is string => !!x);
  if (later.length === 0) return '  a service that dies is restarted at once (--no-restart leaves it down)';
  const atOnce = ['the catalog', replicas === 1 && 'the replica', frontends === 1 && 'the front end'].filter((x): x is string => !!x);
  const list = (items: string[], and: string) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} ${and} ${items[items.length - 1]}` : items[0]);
  return `  ${list(later, 'or')} that dies is restarted after ${formatMs(restart.delayMs)}, ${list(atOnce, 'and')} at once (--no-restart leaves it down)`;
}

/** What `npm start` prints once every service answers: where everything is and what to do next. */
export async function banner(env: NodeJS.ProcessEnv, dataDir: string, restart: RestartOptions): Promise<string[]> {
  const frontends = frontendUrls(env);
  const frontend = frontends[0];
  const catalog = catalogUrl(env);
  const replicas = replicaAddresses(env);
  const leader = await leaderOf(frontend);
  const data = shownPath(dataDir);
  return [
    `the bazaar is ready${leader ? `: replica ${leader} leads` : ''}`,
    `  API          ${frontend}   (Swagger UI: ${frontend}/docs)`,
    ...(frontends.length > 1
      ? [`  front ends   ${frontends.join(', ')}   (${clientCommand('load', frontends.join(','))})`]
      : []),
    `  watch it     ${frontend}/status   or   ${clientCommand('status --watch', frontend)}`,
    `  catalog      ${catalog}`,
    `  replicas     ${replicas.map((r) => `${r.id} ${r.url}`).join(', ')}`,
    `  data         ${data}/ (SQLite files, cluster token, pids in ${data}/run/)`,
    restartLine(restart, frontends.length, replicas.length),
    `  run one again by hand: npm start -- order <id>   (or catalog, frontend${frontends.length > 1 ? ' [n]' : ''})`,
    `  Ctrl-C stops everything`,
  ];
}
