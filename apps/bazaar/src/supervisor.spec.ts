import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestartOptions } from './restart-policy';
import { ServiceSpec } from './services';
import { Supervisor, SupervisorOptions } from './supervisor';

/**
 * The supervisor's own failure paths, with stand-in services (tiny scripts) instead of the apps:
 * none of them may end the supervisor, which would leave every other service without one.
 */
describe('Supervisor', () => {
  let dir: string;
  let supervisor: Supervisor | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bazaar-supervisor-'));
  });
  afterEach(async () => {
    await supervisor?.stop();
    supervisor = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const service: ServiceSpec = { name: 'catalog', app: 'catalog', env: {}, readyUrl: 'http://127.0.0.1:9/never', standIn: true };
  const restart = (enabled: boolean): RestartOptions => ({ enabled, delayMs: 20, maxDelayMs: 20, stableAfterMs: 60_000 });

  /** A supervisor of one service that runs `script`; `said` collects its lines, `onSay` sees each. */
  function supervise(script: string, opts: Partial<SupervisorOptions> & { onSay?: (line: string) => void; spec?: Partial<ServiceSpec> }, said: string[]): Supervisor {
    const main = join(dir, 'service.js');
    writeFileSync(main, script);
    supervisor = new Supervisor([{ ...service, ...opts.spec }], {
      restart: restart(true),
      dataDir: join(dir, 'data'),
      mainPath: () => main,
      env: { PATH: process.env.PATH ?? '' },
      stopTimeoutMs: 5000,
      say: (line) => {
        said.push(line);
        opts.onSay?.(line);
      },
      relay: () => {},
      onAllReady: () => {},
      ...opts,
    });
    return supervisor;
  }

  /** Resolves once `said` has `n` lines matching `pattern` (bounded). */
  async function saidTimes(said: string[], pattern: RegExp, n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (said.filter((l) => pattern.test(l)).length < n) {
      if (Date.now() > deadline) throw new Error(`not said ${n} times: ${pattern}; said:\n${said.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('restarts a service whose pid file cannot be written (its directory gone, a file in its place), and says so', async () => {
    const said: string[] = [];
    let broken = false;
    const s = supervise('process.exit(0)', {
      onSay: (line) => {
        // After the first exit, before its restart timer fires: no directory can be made there now.
        if (!broken && /exited with code 0; restarting it/.test(line)) {
          broken = true;
          rmSync(join(dir, 'data', 'run'), { recursive: true, force: true });
          writeFileSync(join(dir, 'data', 'run'), 'not a directory');
        }
      },
    }, said);
    s.start();
    await saidTimes(said, /^catalog \(pid \d+\): could not write .*catalog\.pid \(.+\); it runs without a pid file$/, 2);
    // Each restart still starts it.
    expect(said.filter((l) => /^catalog started \(pid \d+\)$/.test(l)).length).toBeGreaterThanOrEqual(3);
    await s.stop();
    expect(await s.done).toBe(0);
  });

  it('restarts a service nothing stands in for at once, and backs off only when it crashes again before it is ready', async () => {
    const said: string[] = [];
    const slow: RestartOptions = { enabled: true, delayMs: 60_000, maxDelayMs: 60_000, stableAfterMs: 60_000 };
    const s = supervise('process.exit(0)', { restart: slow, spec: { standIn: false } }, said);
    s.start();
    await saidTimes(said, /^catalog \(pid \d+\) exited with code 0; restarting it in 0\.5 s, crash 2 in a row$/, 1);
    expect(said.filter((l) => /restarting it/.test(l)).map((l) => l.replace(/pid \d+/, 'pid N'))).toEqual([
      'catalog (pid N) exited with code 0; restarting it in 0 s',
      'catalog (pid N) exited with code 0; restarting it in 0.5 s, crash 2 in a row',
    ]);
    await s.stop();
    expect(await s.done).toBe(0);
  });

  it('waits RESTART_DELAY_MS before restarting a service another process stands in for', async () => {
    const said: string[] = [];
    const s = supervise('process.exit(0)', { restart: { enabled: true, delayMs: 60_000, maxDelayMs: 60_000, stableAfterMs: 60_000 } }, said);
    s.start();
    await saidTimes(said, /^catalog \(pid \d+\) exited with code 0; restarting it in 60 s$/, 1);
    await s.stop();
    expect(await s.done).toBe(0);
    expect(said.filter((l) => /started \(pid/.test(l))).toHaveLength(1);
  });

  it('retries a service that cannot be started (spawn fails), and still stops', async () => {
    const said: string[] = [];
    const s = supervise('', { execPath: join(dir, 'no-such-node') }, said);
    s.start();
    await saidTimes(said, /^catalog could not be started \(spawn .*no-such-node ENOENT\); restarting it in 0\.0 s/, 2);
    expect(said.some((l) => /started \(pid/.test(l))).toBe(false);
    await s.stop();
    expect(await s.done).toBe(0);
  });

  // A second `npm start` (or `npm start -- order 2` for a replica that runs) in the same directory:
  // its services fail on their ports, and must not take the running bazaar's pid files with them.
  it("leaves a pid file naming another live process alone when its service fails to start", async () => {
    const said: string[] = [];
    const file = join(dir, 'data', 'run', 'catalog.pid');
    mkdirSync(join(dir, 'data', 'run'), { recursive: true });
    writeFileSync(file, `${process.pid}\n`); // a live process that is not this supervisor's child
    const s = supervise('process.exit(1)', {}, said);
    s.start();
    expect(await s.done).toBe(1);
    expect(said).toContainEqual(expect.stringMatching(/^catalog \(pid \d+\) exited with code 1 before it was ready: stopping/));
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
  });

  it('writes the pid file once its service listens when a live process held it, and removes only its own', async () => {
    const said: string[] = [];
    const file = join(dir, 'data', 'run', 'catalog.pid');
    mkdirSync(join(dir, 'data', 'run'), { recursive: true });
    writeFileSync(file, `${process.pid}\n`);
    const s = supervise("process.send({ bazaar: 'listening', port: 1 }); setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));", {}, said);
    s.start();
    await saidTimes(said, /^catalog started \(pid \d+\)$/, 1);
    const pid = Number(/pid (\d+)/.exec(said.find((l) => /^catalog started/.test(l))!)![1]);
    const deadline = Date.now() + 10_000;
    while (readFileSync(file, 'utf8') !== `${pid}\n` && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(file, 'utf8')).toBe(`${pid}\n`);
    await s.stop();
    expect(existsSync(file)).toBe(false);
  });

  it('with restarts off, leaves a service that cannot be started down and stops: every service is down', async () => {
    const said: string[] = [];
    const s = supervise('', { execPath: join(dir, 'no-such-node'), restart: restart(false) }, said);
    s.start();
    expect(await s.done).toBe(1);
    expect(said).toEqual([
      expect.stringMatching(/^catalog could not be started \(spawn .*no-such-node ENOENT\); not restarting it \(restarts are off\)/),
      'stopping: every service is down',
      'stopped',
    ]);
  });
});
