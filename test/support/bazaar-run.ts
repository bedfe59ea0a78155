import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, OrderCopyRow, ORDER_COPIES_SQL, OrderRow, ORDER_ROWS_SQL, readAll, settlesWithin, StockRow, STOCK_ROWS_SQL, TEST_ENV, waitFor } from '@app/testkit';
import { ROOT, stripAnsi } from './process';

/** The script `npm start` runs. */
export const START_SCRIPT = resolve(ROOT, 'scripts', 'start-bazaar.js');

export type Ports = { catalog: number; frontend: number; replicas: number[] };

export async function freePorts(replicas = 3): Promise<Ports> {
  return {
    catalog: await freePort(),
    frontend: await freePortFollowedByFree(),
    replicas: await Promise.all(Array.from({ length: replicas }, () => freePort())),
  };
}

/**
 * A free port whose next one is free too: `FRONTENDS=2` runs the second front end on
 * FRONTEND_PORT + 1, which the system may have given to another socket (an outgoing connection's
 * local port, say) when only the first was checked.
 */
async function freePortFollowedByFree(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65535 && (await canBind(port + 1))) return port;
  }
  throw new Error('found no free port followed by a free one in 50 tries');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The environment that puts a bazaar on `ports` (everything else: the apps' defaults and the tests' fast timers). */
export function portsEnv(ports: Ports): Record<string, string> {
  return {
    CATALOG_PORT: String(ports.catalog),
    FRONTEND_PORT: String(ports.frontend),
    CATALOG_URL: `http://127.0.0.1:${ports.catalog}`,
    FRONTEND_URL: `http://127.0.0.1:${ports.frontend}`,
    ORDER_REPLICAS: ports.replicas.map((p, i) => `${i + 1}=http://127.0.0.1:${p}`).join(','),
  };
}

/**
 * One run of `npm start`'s script (scripts/start-bazaar.js) as a user runs it: from a working
 * directory of its own (a fresh temporary one), so that `data/` — the SQLite files, the token
 * file, the pid files — is where the README says. Every process is killed in {@link kill}.
 */
export class BazaarRun {
  readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly cwd: string,
    readonly ports: Ports,
    args: string[] = [],
    extraEnv: Record<string, string> = {},
    /**
     * `script`: the script itself, as `npm start` runs it. `npm`: `npm start` itself (from the
     * repository, whose root npm runs its scripts in; the data in `./data` here all the same,
     * through `DATA_DIR`), to see what npm adds: its process in between, and the signals it passes on.
     * `npm` runs it with `--silent`; `npm-loud` without, so that npm first writes its own
     * `> stock-bazaar@1.0.0 start` header to standard output, as a user's plain `npm start` does.
     */
    via: 'script' | 'npm' | 'npm-loud' = 'script',
    /** Where its standard output goes: a pipe read into {@link out}, or a file descriptor (`/dev/full`, say). */
    stdout: 'pipe' | number = 'pipe',
  ) {
    const { PATH, HOME } = process.env;
    const [command, commandArgs] =
      via === 'script' ? [process.execPath, [START_SCRIPT, ...args]] : ['npm', ['start', ...(via === 'npm' ? ['--silent'] : []), '--prefix', ROOT, '--', ...args]];
    this.child = spawn(command, commandArgs, {
      cwd,
      env: {
        PATH: PATH ?? '',
        HOME: HOME ?? '',
        ...TEST_ENV,
        ...portsEnv(ports),
        RESTART_DELAY_MS: '1000',
        ...(via !== 'script' && { DATA_DIR: join(cwd, 'data'), npm_config_update_notifier: 'false', npm_config_fund: 'false' }),
        ...extraEnv,
      },
      stdio: ['ignore', stdout, 'pipe'],
      // Its own process group: kill() reaches a service the supervisor (re)started after the pids were read.
      detached: true,
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    }
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** A fresh working directory for a run. */
  static workdir(): string {
    return mkdtempSync(join(tmpdir(), 'bazaar-start-'));
  }

  get dataDir(): string {
    return join(this.cwd, 'data');
  }

  get frontend(): string {
    return `http://127.0.0.1:${this.ports.frontend}`;
  }

  replica(id: number): string {
    return `http://127.0.0.1:${this.ports.replicas[id - 1]}`;
  }

  /** Everything the supervisor and its services printed so far, without colours. */
  get out(): string {
    return stripAnsi(this.output);
  }

  /** The supervisor's own lines (`[bazaar] …`). */
  get supervisorLines(): string[] {
    return this.out.split('\n').filter((l) => l.startsWith('[bazaar] '));
  }

  /** Waits until the output matches `pattern` (counting from character `from`); returns the match. */
  async waitOutput(pattern: RegExp, timeoutMs = 60000, from = 0): Promise<RegExpMatchArray> {
    return waitFor(`output matching ${pattern}`, async () => {
      if (this.child.exitCode !== null && !pattern.test(this.out.slice(from))) {
        throw new Error(`npm start exited (${this.child.exitCode}) before printing ${pattern}:\n${this.out.slice(-3000)}`);
      }
      return this.out.slice(from).match(pattern) ?? undefined;
    }, timeoutMs);
  }

  /** The pid `npm start` recorded for service `name` (`data/run/<name>.pid`), if it runs. */
  pid(name: string): number | undefined {
    const file = join(this.dataDir, 'run', `${name}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  }

  /** Runs a shell command in the run's working directory, as a user would type it there. */
  sh(command: string): string {
    return execFileSync('bash', ['-c', command], { cwd: this.cwd, encoding: 'utf8' });
  }

  orderTable(id: number): Promise<OrderRow[]> {
    return readAll<OrderRow>(join(this.dataDir, `order-${id}.sqlite`), ORDER_ROWS_SQL);
  }

  stocksTable(): Promise<StockRow[]> {
    return readAll<StockRow>(join(this.dataDir, 'catalog.sqlite'), STOCK_ROWS_SQL);
  }

  /** Waits until every replica's order table is identical, each copy's time and checksum included, and returns it (without those two). */
  converged(ids = this.ports.replicas.map((_, i) => i + 1), timeoutMs = 30000): Promise<OrderRow[]> {
    return waitFor('identical order logs on every replica', async () => {
      const tables = await Promise.all(ids.map((id) => readAll<OrderCopyRow>(join(this.dataDir, `order-${id}.sqlite`), ORDER_COPIES_SQL)));
      const json = tables.map((t) => JSON.stringify(t));
      return json.every((j) => j === json[0]) ? tables[0].map(({ created_at: _at, checksum: _sum, ...row }) => row) : undefined;
    }, timeoutMs);
  }

  /** Sends `signal` to the supervisor and waits (bounded) for it to exit. */
  stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.waitExit(timeoutMs);
  }

  /** Waits (bounded) for the supervisor to exit on its own. */
  async waitExit(timeoutMs = 30000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!(await settlesWithin(this.exited, timeoutMs))) {
      throw new Error(`npm start did not exit within ${timeoutMs} ms:\n${this.out.slice(-2000)}`);
    }
    return this.exited;
  }

  /**
   * Kills the supervisor's process group (it and every service it started) and every service it
   * recorded, by pid, and removes the directory; with `keep`, leaves it with the output in `output.log`.
   */
  async kill(keep = !!process.env.KEEP_E2E_DATA): Promise<void> {
    const pids = ['catalog', 'frontend', ...this.ports.replicas.map((_, i) => `order-${i + 1}`)].map((n) => this.pid(n));
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    for (const pid of pids) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(100);
    if (keep) writeFileSync(join(this.cwd, 'output.log'), this.out);
    else rmSync(this.cwd, { recursive: true, force: true });
  }
}


