import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit, nextStreak, restartDelay, RestartOptions } from './restart-policy';
import { ServiceSpec } from './services';

/** Where a service's main module is, given the app's name. */
export type MainPath = (app: ServiceSpec['app']) => string;

export interface SupervisorOptions {
  restart: RestartOptions;
  /** `DATA_DIR`, absolute: pid files go to `<dataDir>/run/<name>.pid`. */
  dataDir: string;
  mainPath: MainPath;
  /** Environment of every child (the supervisor's own, plus settings it adds). */
  env: NodeJS.ProcessEnv;
  /** Longest wait for the children to exit after SIGTERM before they are killed. */
  stopTimeoutMs: number;
  /** Writes one line of the supervisor's own output. */
  say: (line: string) => void;
  /** Writes one line of a child's output, prefixed. */
  relay: (name: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** Called once, when every service has answered its ready URL. */
  onAllReady: () => void | Promise<void>;
  /** The Node.js binary the services run on (default: this process's). */
  execPath?: string;
}

const READY_POLL_MS = 250;

/** One supervised service: its current process, its crash streak and its readiness. */
class Supervised {
  child?: ChildProcess;
  startedAt = 0;
  streak = 0;
  /** The current process said it listens (so the ready URL reaches it, not another holding the port). */
  listening = false;
  ready = false;
  everReady = false;
  restartTimer?: NodeJS.Timeout;

  constructor(readonly spec: ServiceSpec) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/**
 * Runs the bazaar's services as child processes and keeps them running: a child that exits or is
 * killed never takes the others down; it is restarted after a delay (none for a service nothing
 * stands in for, such as the catalog), longer for each crash in a row soon after start (or left
 * down with restarts off). SIGINT/SIGTERM stop every child gracefully (SIGTERM, then SIGKILL after
 * the timeout).
 *
 * A service that fails before it was ever ready while the bazaar is starting (a configuration
 * error, a port in use) is not retried: the supervisor stops and exits 1, since retrying cannot help.
 */
export class Supervisor {
  private readonly services: Supervised[];
  private stopping?: Promise<void>;
  private allReady = false;
  private finished!: (code: number) => void;
  /** Resolves with the supervisor's exit code. */
  readonly done = new Promise<number>((r) => (this.finished = r));

  constructor(
    specs: ServiceSpec[],
    private readonly opts: SupervisorOptions,
  ) {
    this.services = specs.map((s) => new Supervised(s));
  }

  start(): void {
    for (const s of this.services) this.spawn(s);
    void this.watchReadiness();
  }

  /** Stops every child gracefully and resolves the exit code `code`. Idempotent. */
  stop(code = 0, reason?: string): Promise<void> {
    this.stopping ??= this.stopAll(code, reason);
    return this.stopping;
  }

  /** Second Ctrl-C: kill every child at once. */
  kill(): void {
    for (const s of this.services) if (s.running) s.child!.kill('SIGKILL');
  }

  /**
   * Starts `s` again. Nothing here may throw: it runs in a restart timer, where an exception would
   * end the supervisor and orphan every other service. A process that cannot be started (spawn's
   * 'error': EAGAIN, ENOMEM, …) counts as a crash: it is retried like one.
   */
  private spawn(s: Supervised): void {
    s.startedAt = performance.now();
    s.ready = false;
    s.listening = false;
    let child: ChildProcess;
    try {
      child = spawn(this.opts.execPath ?? process.execPath, [this.opts.mainPath(s.spec.app)], {
        env: { ...this.opts.env, ...s.spec.env },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
    } catch (err) {
      s.child = undefined;
      this.exited(s, `${s.spec.name} could not be started (${errorText(err)})`, null);
      return;
    }
    s.child = child;
    const pidFile = this.pidFile(s);
    // A pid file naming a live process belongs to another run of this data directory (a second
    // `npm start`, or `npm start -- order 2` for a replica that runs): this child most likely
    // fails on its port, and must not take that run's pid file with it. It is written once this
    // child listens (its port is its own), else never.
    let pidFileDeferred = false;
    child.on('message', (m: { bazaar?: string }) => {
      if (m?.bazaar !== 'listening' || s.child !== child) return;
      s.listening = true;
      if (pidFileDeferred && child.pid !== undefined) {
        pidFileDeferred = false;
        this.writePidFile(s, pidFile, child.pid);
      }
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const input = child[stream];
      if (input) createInterface({ input, crlfDelay: Infinity }).on('line', (line) => this.opts.relay(s.spec.name, line, stream));
    }
    // Handled once, whether it ends by 'exit' or never started ('error', and maybe no 'exit').
    let ended = false;
    const end = (how: string, code: number | null) => {
      if (ended) return;
      ended = true;
      if (s.child === child) {
        if (child.pid !== undefined) this.removePidFile(pidFile, child.pid);
        if (child.pid === undefined) s.child = undefined; // never ran: nothing to wait for or to kill
      }
      this.exited(s, how, code);
    };
    child.once('exit', (code, signal) => end(`${s.spec.name} (pid ${child.pid}) ${describeExit(code, signal)}`, code));
    child.on('error', (err) => {
      // Not started at all; else a signal could not be sent (the process runs on, or its 'exit' follows).
      if (child.pid === undefined) end(`${s.spec.name} could not be started (${errorText(err)})`, null);
      else this.opts.say(`${s.spec.name} (pid ${child.pid}): ${errorText(err)}`);
    });
    if (child.pid === undefined) return; // its 'error' follows
    if (pidInFileAlive(pidFile)) pidFileDeferred = true;
    else this.writePidFile(s, pidFile, child.pid);
    this.opts.say(`${s.spec.name} started (pid ${child.pid})`);
  }

  private pidFile(s: Supervised): string {
    return join(this.opts.dataDir, 'run', `${s.spec.name}.pid`);
  }

  /** Records the pid (re-making the directory if it went); a full disk or a read-only one is said, not fatal. */
  private writePidFile(s: Supervised, file: string, pid: number): void {
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${pid}\n`);
    } catch (err) {
      this.removePidFile(file, pid); // not a partial one
      this.opts.say(`${s.spec.name} (pid ${pid}): could not write ${file} (${errorText(err)}); it runs without a pid file`);
    }
  }

  /** Removes `file` unless it names another process than `pid` (another run's, see {@link spawn}). */
  private removePidFile(file: string, pid: number): void {
    try {
      const recorded = readPid(file);
      if (recorded !== undefined && recorded !== pid) return;
      rmSync(file, { force: true });
    } catch (err) {
      this.opts.say(`could not remove ${file} (${errorText(err)})`);
    }
  }

  /** `s`'s process ended (`how`, in words; `code`: its exit code), or could not be started (`code` null). */
  private exited(s: Supervised, how: string, code: number | null): void {
    const becameReady = s.ready;
    s.ready = false;
    if (this.stopping) return;
    if (!this.allReady && !s.everReady && code !== null && code !== 0) {
      this.opts.say(`${how} before it was ready: stopping the bazaar (see its output above)`);
      void this.stop(1);
      return;
    }
    const { restart } = this.opts;
    if (!restart.enabled) {
      this.opts.say(`${how}; not restarting it (restarts are off): start it again with \`npm start -- ${s.spec.name.replace('-', ' ')}\``);
      if (!this.services.some((o) => o.running || o.restartTimer)) void this.stop(1, 'every service is down');
      return;
    }
    s.streak = nextStreak(restart, s.streak, performance.now() - s.startedAt, becameReady, s.spec.standIn);
    const delay = restartDelay(restart, s.streak, s.spec.standIn);
    const streak = s.streak > 1 ? `, crash ${s.streak} in a row` : '';
    this.opts.say(`${how}; restarting it in ${formatMs(delay)}${streak}`);
    s.restartTimer = setTimeout(() => {
      s.restartTimer = undefined;
      if (!this.stopping) this.spawn(s);
    }, delay);
  }

  /** Polls each running, not yet ready service's ready URL; says when each becomes ready, and when all are. */
  private async watchReadiness(): Promise<void> {
    while (!this.stopping) {
      await Promise.all(
        this.services.filter((s) => s.running && s.listening && !s.ready).map(async (s) => {
          const pid = s.child!.pid;
          if (!(await answers(s.spec.readyUrl)) || this.stopping || s.child?.pid !== pid || !s.running) return;
          s.ready = true;
          this.opts.say(`${s.spec.name} is ready${s.everReady ? ' again' : ''} (pid ${pid})`);
          s.everReady = true;
        }),
      );
      if (!this.allReady && this.services.every((s) => s.ready)) {
        this.allReady = true;
        await this.opts.onAllReady();
      }
      await sleep(READY_POLL_MS);
    }
  }

  private async stopAll(code: number, reason?: string): Promise<void> {
    if (reason) this.opts.say(`stopping: ${reason}`);
    for (const s of this.services) clearTimeout(s.restartTimer);
    const running = this.services.filter((s) => s.running);
    if (running.length > 0) this.opts.say(`stopping ${running.map((s) => s.spec.name).join(', ')}`);
    await Promise.all(
      running.map(async (s) => {
        const child = s.child!;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.opts.say('stopped');
    this.finished(code);
  }
}

/** The pid `file` records; undefined when there is no such file or it holds no pid (a partial write). */
function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return /^\d+\s*$/.test(text) ? Number(text.trim()) : undefined;
}

/** Whether `file` names a process that runs (one of another user's too: EPERM). */
function pidInFileAlive(file: string): boolean {
  const pid = readPid(file);
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errorText(err: unknown): string {
  const message = (err as Error | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
