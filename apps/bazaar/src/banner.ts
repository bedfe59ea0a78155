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
    restart.enabled
      ? `  a service that dies is restarted after ${formatMs(restart.delayMs)} (--no-restart leaves it down)`
      : '  restarts are off: a service that dies stays down',
    `  run one again by hand: npm start -- order <id>   (or catalog, frontend${frontends.length > 1 ? ' [n]' : ''})`,
    `  Ctrl-C stops everything`,
  ];
}
