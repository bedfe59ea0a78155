import { execFileSync } from 'node:child_process';

/**
 * A small network of Linux network namespaces for one test run: the bazaar's processes on
 * separate "hosts" with their own addresses, joined by a bridge, with partitions between any two.
 *
 * ```
 *   root namespace (the test process) ── veth ──┐
 *   <prefix>-catalog  eth0 198.18.x.1 ── veth ──┤
 *   <prefix>-order1   eth0 198.18.x.2 ── veth ──┤  bridge br0 in <prefix>-br
 *   …                                           │
 *   <prefix>-client   eth0 198.18.x.n ── veth ──┘
 * ```
 *
 * Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking): one /24 per run. Names carry the
 * creating process's pid (`bzmh<pid>-<host>`), so {@link NetLab.removeStale} removes only what a
 * crashed earlier run left behind, never a namespace of a run still going.
 *
 * Partitions: {@link NetLab.blackhole} adds blackhole routes (a connect fails at once with
 * EINVAL; packets of an established connection are discarded by the sender's kernel, so a
 * request already on it hangs until its timeout); {@link NetLab.drop} adds nftables drop rules
 * (every packet vanishes: connects and requests hang until their timeouts).
 *
 * Needs root, `ip` (iproute2) and, for {@link NetLab.drop}, `nft`. Everything here is synchronous
 * (a few milliseconds per command) so that cleanup can run from any handler.
 */

/** First part of every namespace this helper creates. */
export const NETNS_PREFIX = 'bzmh';
/** Longest interface name Linux accepts. */
const IFNAMSIZ = 15;
/** nftables table holding a namespace's drop rules. */
const NFT_TABLE = 'bazaar_partition';

export interface HostPlan {
  /** Logical name: `catalog`, `order1`, `frontend` … (letters and digits). */
  name: string;
  /** Its network namespace. */
  ns: string;
  /** Its address on the bridge. */
  address: string;
  /** Interface name on the bridge side (inside the bridge namespace). */
  bridgePort: string;
}

export interface NetPlan {
  pid: number;
  /** Namespace name prefix of this run: `bzmh<pid>-`. */
  prefix: string;
  /** `198.18.x.0/24` or `198.19.x.0/24`. */
  subnet: string;
  bridgeNs: string;
  /** The root namespace's end of its veth into the bridge (≤ 15 characters). */
  rootLink: string;
  /** The root namespace's address on the bridge (the test process reaches every host through it). */
  rootAddress: string;
  hosts: HostPlan[];
}

/** The `index`-th /24 of 198.18.0.0/15 (0 … 511), as its network address without length. */
export function subnetBase(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 511) throw new Error(`subnet index out of range: ${index}`);
  return `198.${18 + (index >> 8)}.${index & 255}`;
}

export function namespaceName(pid: number, host: string): string {
  return `${NETNS_PREFIX}${pid}-${host}`;
}

/** The pid that created namespace `name`, if it is one of this helper's; undefined otherwise. */
export function namespaceOwner(name: string): number | undefined {
  const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-[a-z0-9]+$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Address plan for one run: host i (in the order given) gets `.i+1`, the root namespace `.254`.
 * Host names must be short lowercase words (they become part of namespace names).
 */
export function planNetwork(pid: number, hosts: string[], subnetIndex = pid % 512): NetPlan {
  if (hosts.length === 0 || hosts.length > 250) throw new Error('between 1 and 250 hosts');
  if (new Set(hosts).size !== hosts.length) throw new Error('host names must be unique');
  for (const h of hosts) {
    if (!/^[a-z][a-z0-9]{0,11}$/.test(h) || h === 'br') throw new Error(`bad host name: ${JSON.stringify(h)}`);
  }
  const base = subnetBase(subnetIndex);
  const rootLink = `${NETNS_PREFIX}${pid % 100000}r`;
  if (rootLink.length > IFNAMSIZ) throw new Error(`interface name too long: ${rootLink}`);
  return {
    pid,
    prefix: `${NETNS_PREFIX}${pid}-`,
    subnet: `${base}.0/24`,
    bridgeNs: namespaceName(pid, 'br'),
    rootLink,
    rootAddress: `${base}.254`,
    hosts: hosts.map((name, i) => ({ name, ns: namespaceName(pid, name), address: `${base}.${i + 1}`, bridgePort: `p${i + 1}` })),
  };
}

/** The `ip` invocations that build the plan's network, in order (each an argv without `ip`). */
export function setupCommands(plan: NetPlan): string[][] {
  const cmds: string[][] = [
    ['netns', 'add', plan.bridgeNs],
    ['-n', plan.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge'],
    ['-n', plan.bridgeNs, 'link', 'set', 'br0', 'up'],
  ];
  for (const h of plan.hosts) {
    cmds.push(
      ['netns', 'add', h.ns],
      ['-n', h.ns, 'link', 'set', 'lo', 'up'],
      ['-n', h.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', h.bridgePort, 'netns', plan.bridgeNs],
      ['-n', plan.bridgeNs, 'link', 'set', h.bridgePort, 'master', 'br0', 'up'],
      ['-n', h.ns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0'],
      ['-n', h.ns, 'link', 'set', 'eth0', 'up'],
    );
  }
  cmds.push(
    ['link', 'add', plan.rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', plan.bridgeNs],
    ['-n', plan.bridgeNs, 'link', 'set', 'root', 'master', 'br0', 'up'],
    ['addr', 'add', `${plan.rootAddress}/24`, 'dev', plan.rootLink],
    ['link', 'set', plan.rootLink, 'up'],
  );
  return cmds;
}

/** `ip` argv adding (or deleting) a blackhole route in `from`'s namespace towards `to`'s address. */
export function blackholeCommand(from: HostPlan, to: HostPlan, op: 'add' | 'del'): string[] {
  return ['-n', from.ns, 'route', op, 'blackhole', `${to.address}/32`];
}

/**
 * The nftables script that makes a namespace drop every packet to and from `peers` (and replaces
 * whatever this helper put there before); with no peers it only removes the table.
 */
export function dropRuleset(peers: string[]): string {
  // Creating the table first makes the delete valid whether it existed or not.
  const lines = [`table inet ${NFT_TABLE}`, `delete table inet ${NFT_TABLE}`];
  if (peers.length > 0) {
    const set = `{ ${[...peers].sort().join(', ')} }`;
    lines.push(
      `table inet ${NFT_TABLE} {`,
      `  chain input { type filter hook input priority 0; policy accept; ip saddr ${set} drop; }`,
      `  chain output { type filter hook output priority 0; policy accept; ip daddr ${set} drop; }`,
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

/** Runs a command; throws with its stderr on failure. */
function run(file: string, args: string[], input?: string): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 15000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
}

function tryRun(file: string, args: string[]): boolean {
  try {
    run(file, args);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
}

export type Availability = { ok: true } | { ok: false; reason: string };

export class NetLab {
  private readonly byName: Map<string, HostPlan>;
  /** Current partitions, as sorted `a|b` pairs. */
  private readonly blackholes = new Set<string>();
  private readonly drops = new Set<string>();
  private destroyed = false;

  private constructor(readonly plan: NetPlan) {
    this.byName = new Map(plan.hosts.map((h) => [h.name, h]));
  }

  /**
   * Whether namespaces can be made here: root, `ip netns` working (checked by creating and
   * removing a probe namespace). `needNft`: `nft` must work inside a namespace too.
   */
  static available(needNft = false): Availability {
    if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN)' };
    const probe = namespaceName(process.pid, 'probe');
    try {
      run('ip', ['netns', 'add', probe]);
    } catch (e) {
      return { ok: false, reason: `ip netns does not work: ${(e as Error).message}` };
    }
    try {
      if (needNft) {
        try {
          run('ip', ['netns', 'exec', probe, 'nft', '-f', '-'], dropRuleset(['192.0.2.1']));
        } catch (e) {
          return { ok: false, reason: `nft does not work in a namespace (apt-get install nftables): ${(e as Error).message}` };
        }
      }
      return { ok: true };
    } finally {
      tryRun('ip', ['netns', 'del', probe]);
    }
  }

  /**
   * Removes namespaces (and root links) of this helper whose creating process is gone. Returns
   * the names removed. A namespace of a live process is never touched.
   */
  static removeStale(): string[] {
    const removed: string[] = [];
    for (const ns of listNamespaces()) {
      const owner = namespaceOwner(ns);
      if (owner === undefined || owner === process.pid || pidAlive(owner)) continue;
      if (ns.endsWith('-br')) tryRun('ip', ['link', 'del', `${NETNS_PREFIX}${owner % 100000}r`]);
      if (tryRun('ip', ['netns', 'del', ns])) removed.push(ns);
    }
    return removed;
  }

  /**
   * Builds the network for `hosts`. Picks a /24 that the root namespace does not route yet (a
   * concurrent run of another pid keeps its own). On any failure everything made so far is removed.
   */
  static create(hosts: string[]): NetLab {
    let plan: NetPlan | undefined;
    for (let i = 0; i < 512; i++) {
      const candidate = planNetwork(process.pid, hosts, (process.pid + i) % 512);
      if (run('ip', ['-4', 'route', 'show', candidate.subnet]).trim() === '' && run('ip', ['-4', 'addr', 'show', 'to', candidate.subnet]).trim() === '') {
        plan = candidate;
        break;
      }
    }
    if (!plan) throw new Error('no free /24 in 198.18.0.0/15');
    const lab = new NetLab(plan);
    try {
      for (const cmd of setupCommands(plan)) run('ip', cmd);
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }

  host(name: string): HostPlan {
    const h = this.byName.get(name);
    if (!h) throw new Error(`unknown host ${name}`);
    return h;
  }

  address(name: string): string {
    return this.host(name).address;
  }

  /** Argv prefix that runs a program inside `host`'s namespace (`ip netns exec <ns>`; the pid stays the program's). */
  spawnPrefix(name: string): string[] {
    return ['ip', 'netns', 'exec', this.host(name).ns];
  }

  /** Runs `argv` inside `host`'s namespace and returns its standard output. */
  exec(name: string, argv: string[], input?: string): string {
    const [file, ...rest] = [...this.spawnPrefix(name), ...argv];
    return run(file, rest, input);
  }

  /** Blackhole routes both ways between `a` and `b`: connects fail at once (EINVAL). */
  blackhole(a: string, b: string): void {
    const [ha, hb] = [this.host(a), this.host(b)];
    const key = pairKey(a, b);
    if (this.blackholes.has(key)) return;
    run('ip', blackholeCommand(ha, hb, 'add'));
    run('ip', blackholeCommand(hb, ha, 'add'));
    this.blackholes.add(key);
  }

  /** nftables rules in both namespaces dropping every packet between `a` and `b`: silence. */
  drop(a: string, b: string): void {
    this.host(a);
    this.host(b);
    this.drops.add(pairKey(a, b));
    this.applyDrops([a, b]);
  }

  /** Ends every partition between `a` and `b`. */
  heal(a: string, b: string): void {
    const key = pairKey(a, b);
    if (this.blackholes.delete(key)) {
      tryRun('ip', blackholeCommand(this.host(a), this.host(b), 'del'));
      tryRun('ip', blackholeCommand(this.host(b), this.host(a), 'del'));
    }
    if (this.drops.delete(key)) this.applyDrops([a, b]);
  }

  healAll(): void {
    for (const key of [...this.blackholes, ...this.drops]) {
      const [a, b] = key.split('|');
      this.heal(a, b);
    }
  }

  /** Partitions in force, for messages: `order3|frontend (blackhole)` … */
  describe(): string[] {
    return [...[...this.blackholes].map((k) => `${k} (blackhole)`), ...[...this.drops].map((k) => `${k} (drop)`)];
  }

  /** Removes every namespace and link of this run; safe to call twice and after a failed create. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    tryRun('ip', ['link', 'del', this.plan.rootLink]);
    const mine = new Set([this.plan.bridgeNs, ...this.plan.hosts.map((h) => h.ns)]);
    for (const ns of listNamespaces()) if (mine.has(ns)) tryRun('ip', ['netns', 'del', ns]);
  }

  private applyDrops(hosts: string[]): void {
    for (const name of hosts) {
      const peers = [...this.drops]
        .map((k) => k.split('|'))
        .filter((pair) => pair.includes(name))
        .map((pair) => this.address(pair[0] === name ? pair[1] : pair[0]));
      this.exec(name, ['nft', '-f', '-'], dropRuleset(peers));
    }
  }
}

function pairKey(a: string, b: string): string {
  if (a === b) throw new Error(`cannot partition ${a} from itself`);
  return [a, b].sort().join('|');
}
