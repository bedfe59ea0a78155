import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { OrderRoutes } from '@app/contracts/routes';
import { LOOPBACK, freePort, settingsEnv, type ClusterSettings, type Env } from './fixtures';
import { ExitedEarly, http, internal, namedLeader, replicaStatus, tokenHeaders, waitFor, type HttpInit, type HttpResult } from './http-client';
import { ORDER_COPIES_SQL, ORDER_ROWS_SQL, STOCK_ROWS_SQL, catalogDbFile, orderDbFile, readAll, type OrderCopyRow, type OrderRow, type StockRow } from './sqlite';
import { appendOutputTo } from './process-output';
import { frontendName } from './layout';
import { settlesWithin } from './timers';

/** The metrics lines {@link Cluster.describeReplicas} shows of a replica. */
const REPLICATION_FIGURES = /^(bazaar_replication_(lag_orders|sync_pending_seconds|contact_age_seconds)|bazaar_recovery_orders_(fetched|dropped)_total|http_request_duration_seconds_count\{[^}]*route="\/sync")/;

/** The repository root (found from here both in libs/ and in dist/libs/). */
function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nest-cli.json'))) return dir;
  }
  throw new Error(`no nest-cli.json above ${from}`);
}

const ROOT = findRoot(__dirname);

const isExtraFrontend = (name: string) => /^frontend-\d+$/.test(name);
const MAIN = (root: string, app: string) => join(root, 'dist', 'apps', app, 'src', 'main.js');

export interface ClusterOptions {
  /**
   * The checkout whose built apps (`dist/`) run (default: this repository). Another one, such as a
   * build of an earlier commit, lets a benchmark run two builds side by side.
   */
  root?: string;
  /**
   * The settings every process starts with (default `test`): the fast timers of `TEST_ENV`, or
   * with `production` the apps' own defaults. {@link env} and {@link envFor} go on top.
   */
  settings?: ClusterSettings;
  /** Where the data directories go (default: the OS temporary directory). */
  baseDir?: string;
  /** Order replica ids (default 1, 2, 3). */
  replicas?: number[];
  /** Start the front end (default true). */
  frontend?: boolean;
  /**
   * How many front ends (default 1): `frontend`, then `frontend-2`, `frontend-3` … each on its own
   * port and with its own data directory (its epoch file), every one in the catalog's
   * `FRONTEND_URLS` (unless {@link envFor} sets it).
   */
  frontends?: number;
  /** Extra environment for every process. */
  env?: Env;
  /** Extra environment per process name (`catalog`, `frontend`, `order-2` …). */
  envFor?: Record<string, Env>;
  /** Options for node itself, before each app's script (V8 flags such as `--max-semi-space-size=16`). */
  nodeArgs?: string[];
  /** The cluster token every process shares (default: a random one; '' runs without). */
  token?: string;
  /**
   * Address each process binds to and is reached at, per process name (default 127.0.0.1): the
   * processes then run on separate hosts, e.g. network namespaces (see {@link NetLab}).
   */
  hosts?: Record<string, string>;
  /** Fixed port per process name (default: a free loopback port each). */
  ports?: Record<string, number>;
  /** Argv prefix a process is started through, per process name (e.g. `ip netns exec <ns>`); its pid stays node's. */
  spawnPrefix?: (name: string) => string[];
  /** One data directory per process (`<dataDir>/<name>`), as on separate hosts; default one shared directory. */
  dataDirPerProcess?: boolean;
}

/**
 * The process supervisor: a real bazaar for one test suite, chaos run or benchmark. The built apps
 * run as child processes on free loopback ports (or on the hosts and ports given), with a fresh
 * temporary data directory and the settings asked for. Every process is tracked by pid and killed
 * in {@link stop}, even when a test fails.
 */
export class Cluster {
  readonly dataDir: string;
  readonly ports = new Map<string, number>();
  /** The shared secret internal endpoints require ('' when the cluster runs without one). */
  readonly token: string;
  private readonly procs = new Map<string, ChildProcess>();
  private readonly replicaIds: number[];
  /** The front ends' process names: `frontend`, `frontend-2` … */
  readonly frontendNames: string[];

  private constructor(private readonly opts: ClusterOptions) {
    this.dataDir = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'bazaar-'));
    this.replicaIds = opts.replicas ?? [1, 2, 3];
    this.frontendNames = Array.from({ length: Math.max(1, opts.frontends ?? 1) }, (_, i) => frontendName(i + 1));
    this.token = opts.token ?? randomBytes(24).toString('base64url');
  }

  /** Headers an internal request needs (the cluster token). */
  get internalHeaders(): Record<string, string> {
    return tokenHeaders(this.token);
  }

  /** A request to an internal endpoint (catalog, replica, the front end's /rm): {@link http} with the token. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see HttpResult
  internal<T = any>(url: string, init: HttpInit = {}): Promise<HttpResult<T>> {
    return internal<T>(this.token, url, init);
  }

  /**
   * Starts a whole cluster. A port picked as free can be taken by another process before the app
   * binds it; the start is then retried from scratch with new ports (up to three times).
   */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    for (let attempt = 1; ; attempt++) {
      const c = new Cluster(opts);
      for (const name of ['catalog', ...c.frontendNames, ...c.replicaIds.map((id) => `order-${id}`)]) {
        c.ports.set(name, opts.ports?.[name] ?? (await freePort()));
      }
      try {
        await c.startCatalog();
        await Promise.all(c.replicaIds.map((id) => c.startReplica(id)));
        await Promise.all(c.replicaIds.map((id) => c.waitReady(id)));
        if (opts.frontend !== false) {
          await Promise.all(c.frontendNames.map((name) => c.startFrontend({}, name)));
          await c.waitLeading();
        }
        return c;
      } catch (e) {
        const portTaken = [...c.procs.keys()].some((name) => /EADDRINUSE|is already in use/.test(c.log(name)));
        await c.stop();
        if (!portTaken || attempt >= 3) throw e;
      }
    }
  }

  /** Waits for `check`, failing at once (with the log's tail) if process `name` exits meanwhile. */
  private async waitStarted(name: string, check: () => Promise<boolean>): Promise<void> {
    await waitFor(`${name} listening`, async () => {
      if (!this.isRunning(name)) throw new ExitedEarly(name, this.log(name).split('\n').slice(-15).join('\n'));
      return check();
    }, 60000);
  }

  url(name: string): string {
    return `http://${this.host(name)}:${this.ports.get(name)}`;
  }

  /** The address process `name` binds to and is reached at. */
  host(name: string): string {
    return this.opts.hosts?.[name] ?? LOOPBACK;
  }

  /**
   * The data directory of process `name`: its own with `dataDirPerProcess`, and for a second or
   * later front end (which keeps its own epoch file); else the shared one.
   */
  dataDirOf(name: string): string {
    if (!this.opts.dataDirPerProcess && !isExtraFrontend(name)) return this.dataDir;
    const dir = join(this.dataDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  get frontend(): string {
    return this.url('frontend');
  }

  /** Every front end's URL, `frontend` first. */
  get frontendUrls(): string[] {
    return this.frontendNames.map((name) => this.url(name));
  }

  get catalog(): string {
    return this.url('catalog');
  }

  replica(id: number): string {
    return this.url(`order-${id}`);
  }

  get replicaList(): string {
    return this.replicaIds.map((id) => `${id}=${this.replica(id)}`).join(',');
  }

  pid(name: string): number | undefined {
    return this.procs.get(name)?.pid;
  }

  /** How process `name` ended: its exit code, or the signal that ended it; undefined while it runs. */
  exitStatus(name: string): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    const p = this.procs.get(name);
    if (!p || (p.exitCode === null && p.signalCode === null)) return undefined;
    return { code: p.exitCode, signal: p.signalCode };
  }

  isRunning(name: string): boolean {
    const p = this.procs.get(name);
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  private baseEnv(name: string): Env {
    return {
      ...settingsEnv(this.opts.settings),
      DATA_DIR: this.dataDirOf(name),
      HOST: this.host(name),
      CATALOG_PORT: String(this.ports.get('catalog')),
      FRONTEND_PORT: String(this.ports.get(this.frontendNames.includes(name) ? name : 'frontend')),
      CATALOG_URL: this.catalog,
      FRONTEND_URL: this.frontend,
      ...(name === 'catalog' && this.frontendNames.length > 1 ? { FRONTEND_URLS: this.frontendUrls.join(',') } : {}),
      ORDER_REPLICAS: this.replicaList,
      ...(this.token ? { CLUSTER_TOKEN: this.token } : {}),
      ...this.opts.env,
      ...this.opts.envFor?.[name],
    };
  }

  /** Starts (or restarts) one process; `extra` overrides its environment for this start only. */
  spawnApp(name: string, app: string, extra: Env = {}): ChildProcess {
    if (this.isRunning(name)) throw new Error(`${name} is already running`);
    const { PATH, HOME } = process.env;
    const [file, ...args] = [...(this.opts.spawnPrefix?.(name) ?? []), process.execPath, ...(this.opts.nodeArgs ?? []), MAIN(this.opts.root ?? ROOT, app)];
    const child = spawn(file, args, {
      env: { PATH: PATH ?? '', HOME: HOME ?? '', ...this.baseEnv(name), ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    appendOutputTo(child, join(this.dataDir, `${name}.log`));
    this.procs.set(name, child);
    return child;
  }

  async startCatalog(extra: Env = {}): Promise<void> {
    this.spawnApp('catalog', 'catalog', extra);
    await this.waitStarted('catalog', async () => (await http(`${this.catalog}/health`, { timeoutMs: 1000 })).status === 200);
  }

  /**
   * Starts replica `id`; resolves once it listens (not necessarily recovered): once its address
   * answers as replica `id` — another process on that port (one that took it first) does not count.
   */
  async startReplica(id: number, extra: Env = {}): Promise<void> {
    this.spawnApp(`order-${id}`, 'order', { ORDER_ID: String(id), ...extra });
    await this.waitStarted(`order-${id}`, async () => {
      const res = await replicaStatus(this.token, this.replica(id), 1000);
      return res.status === 200 && res.body?.id === id;
    });
  }

  /** Waits until replica `id` answers /ping with 200 (recovered, ready). */
  async waitReady(id: number, timeoutMs = 60000): Promise<void> {
    await waitFor(`order-${id} ready`, async () => (await http(`${this.replica(id)}/${OrderRoutes.ping}`, { timeoutMs: 1000 })).status === 200, timeoutMs);
  }

  /** Starts (or restarts) front end `name` (default the first); resolves once it names a leader. */
  async startFrontend(extra: Env = {}, name = 'frontend'): Promise<void> {
    if (!this.frontendNames.includes(name)) throw new Error(`${name} is not one of this cluster's front ends (${this.frontendNames.join(', ')})`);
    this.spawnApp(name, 'frontend', extra);
    await this.waitStarted(name, async () => (await namedLeader(this.url(name), 2000)).status === 200);
  }

  /** Sends `signal` and, unless it is SIGSTOP/SIGCONT, waits for the process to exit. */
  async signal(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(name);
    if (!p || !this.isRunning(name)) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      process.kill(p.pid!, signal);
      return;
    }
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(p.pid!, signal);
    await settlesWithin(exited, 15000);
    if (this.isRunning(name)) {
      process.kill(p.pid!, 'SIGKILL');
      await exited;
    }
  }

  kill(name: string): Promise<void> {
    return this.signal(name, 'SIGKILL');
  }

  /** The id of the leader according to the front end. */
  async leaderId(): Promise<number> {
    const res = await namedLeader(this.frontend);
    if (res.status !== 200) throw new Error(`no leader: ${res.text}`);
    return res.body.leader;
  }

  /**
   * Waits until the front end names a leader that has finished its promotion: a majority adopted
   * its epoch and it takes trades. (The front end names its candidate as soon as it accepts the
   * epoch; a suite that then takes replicas down would otherwise race the candidate's majority.)
   */
  async waitLeading(timeoutMs = 60000): Promise<number> {
    return waitFor('a leader that finished its promotion', async () => {
      const named = await namedLeader(this.frontend, 2000);
      if (named.status !== 200) return undefined;
      const status = await replicaStatus(this.token, this.replica(named.body.leader), 1000);
      return status.status === 200 && status.body.role === 'leader' && status.body.epoch === named.body.epoch ? named.body.leader : undefined;
    }, timeoutMs);
  }

  /** Waits until the front end names a leader other than `previous` (and that replica leads). */
  async waitNewLeader(previous: number, timeoutMs = 30000): Promise<number> {
    return waitFor(`a leader other than ${previous}`, async () => {
      const res = await namedLeader(this.frontend, 2000);
      return res.status === 200 && res.body.leader !== previous ? res.body.leader : undefined;
    }, timeoutMs);
  }

  /** The order table of replica `id`, read straight from its SQLite file. */
  orderTable(id: number): Promise<OrderRow[]> {
    return readAll<OrderRow>(orderDbFile(this.dataDirOf(`order-${id}`), id), ORDER_ROWS_SQL);
  }

  /** The order table of replica `id` with each copy's time and checksum: identical logs are identical in these too. */
  orderCopies(id: number): Promise<OrderCopyRow[]> {
    return readAll<OrderCopyRow>(orderDbFile(this.dataDirOf(`order-${id}`), id), ORDER_COPIES_SQL);
  }

  /** The catalog's stocks table, read straight from its SQLite file. */
  stocksTable(): Promise<StockRow[]> {
    return readAll<StockRow>(catalogDbFile(this.dataDirOf('catalog')), STOCK_ROWS_SQL);
  }

  /**
   * Waits until every listed replica's order table is identical, each copy's time and checksum
   * included, and returns it (without those two).
   */
  async converged(ids = this.replicaIds, timeoutMs = 30000): Promise<OrderRow[]> {
    let last = '';
    return waitFor('identical order logs on every replica', async () => {
      const tables = await Promise.all(ids.map((id) => this.orderCopies(id)));
      const json = tables.map((t) => JSON.stringify(t));
      last = json.map((j, i) => `${ids[i]}: ${j.length}`).join(', ');
      return json.every((j) => j === json[0]) ? tables[0].map(({ created_at: _at, checksum: _sum, ...row }) => row) : undefined;
    }, timeoutMs).catch(async (e: Error) => {
      throw new Error(`${e.message}; sizes ${last}\n${await this.describeReplicas(ids)}`);
    });
  }

  /**
   * For a failure message: each replica's status as it answers it now, its replication figures
   * (the leader's lag per follower, the syncs it was sent by answer, what catch-ups fetched) and
   * the end of its log, so that a test that fails once in many runs says why (its data directory
   * is deleted with it).
   */
  async describeReplicas(ids = this.replicaIds, lines = 25): Promise<string> {
    const parts = await Promise.all(
      ids.map(async (id) => {
        const name = `order-${id}`;
        const status = await replicaStatus(this.token, this.replica(id), 1000).then(
          (r) => `${r.status} ${JSON.stringify(r.body)}`,
          (err: Error) => `no answer (${err.message})`,
        );
        const figures = await internal(this.token, `${this.replica(id)}/metrics`, { timeoutMs: 1000 }).then(
          (r) => r.text.split('\n').filter((l) => REPLICATION_FIGURES.test(l)).map((l) => l.replace(/app="[^"]*",?|,app="[^"]*"/, '').replace('{}', '')),
          () => [],
        );
        const tail = this.log(name).trimEnd().split('\n').slice(-lines).join('\n');
        return `--- ${name} (${this.isRunning(name) ? `pid ${this.pid(name)}` : 'not running'}): status ${status}\n${figures.join('\n')}\n${tail}`;
      }),
    );
    return parts.join('\n');
  }

  log(name: string): string {
    try {
      return readFileSync(join(this.dataDir, `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills every process (SIGCONT first, in case one is paused) and removes the data directory. */
  async stop(keepData = false): Promise<void> {
    await Promise.all(
      [...this.procs.keys()].map(async (name) => {
        const p = this.procs.get(name)!;
        if (this.isRunning(name)) {
          try {
            process.kill(p.pid!, 'SIGCONT');
          } catch {
            /* already gone */
          }
        }
        await this.kill(name);
      }),
    );
    if (!keepData && !process.env.KEEP_E2E_DATA) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

