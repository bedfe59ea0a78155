/**
 * Names and places of a cluster's processes, without the supervisor (so that a unit spec can
 * import them): the front ends' process names, and where each process runs when every process has
 * a namespace host of its own (see `startAcrossHosts`).
 */

/** The process name of front end `n` (from 1): `frontend`, `frontend-2` … */
export const frontendName = (n: number) => (n === 1 ? 'frontend' : `frontend-${n}`);

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
 * The namespace host of front end process `name`: `frontend` for the first, then `frontend2`,
 * `frontend3` … for `frontend-2`, `frontend-3` … (host names are letters and digits).
 */
export const frontendHost = (name: string): string => name.replace('-', '');

/**
 * Where the processes of a cluster with `frontends` front ends run when each has its own host:
 * {@link HOST_OF} and {@link PORTS}, plus front end n (from 2) on host `frontend<n>` at the first
 * front end's port (its own address tells them apart) — the layout of the partition suite's second
 * front end. `frontendHosts` lists the front ends' hosts, the first front end's first.
 */
export function acrossHostsLayout(frontends = 1): { hostOf: Record<string, string>; ports: Record<string, number>; frontendHosts: string[] } {
  const names = Array.from({ length: Math.max(1, frontends) }, (_, i) => frontendName(i + 1));
  const extra = names.slice(1);
  const hostOf = { ...HOST_OF, ...Object.fromEntries(extra.map((name) => [name, frontendHost(name)])) };
  const ports = { ...PORTS, ...Object.fromEntries(extra.map((name) => [name, PORTS.frontend])) };
  return { hostOf, ports, frontendHosts: names.map(frontendHost) };
}
