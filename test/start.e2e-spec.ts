/**
 * `npm start` as the README runs it: scripts/start-bazaar.js started as a child process from a
 * working directory of its own, on free ports, with its data in `./data` there. It is a supervisor
 * that survives its children: a service that dies is reported, restarted and catches up, while
 * the others keep running and clients notice nothing.
 */
import { chmodSync, closeSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Cluster, http, placeOrder, waitFor } from './support/cluster';
import { BazaarRun, freePorts, portsEnv, START_SCRIPT } from './support/bazaar-run';
import { expectConsistent, expectReadable, tradeLoad } from './support/load';
import { appMain, runNode, startNode } from './support/process';
import { SchedPolicy, threadPolicies } from '@app/testkit';

jest.setTimeout(240_000);

const runs: BazaarRun[] = [];
/** Working directories of runs that are not BazaarRuns (which remove their own): removed after each test. */
const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(runs.splice(0).map((r) => r.kill()));
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A working directory for a test's own processes, removed after it. */
function scratchDir(): string {
  const dir = BazaarRun.workdir();
  scratch.push(dir);
  return dir;
}

/** `npm start` (`via` as BazaarRun takes it) with its standard output on `/dev/full`, which answers every write with ENOSPC. */
async function startOnDevFull(via: 'script' | 'npm-loud'): Promise<BazaarRun> {
  const full = openSync('/dev/full', 'w');
  try {
    const run = new BazaarRun(BazaarRun.workdir(), await freePorts(), [], {}, via, full);
    runs.push(run);
    return run;
  } finally {
    closeSync(full);
  }
}

async function startBazaar(args: string[] = [], env: Record<string, string> = {}, cwd = BazaarRun.workdir()): Promise<BazaarRun> {
  const run = new BazaarRun(cwd, await freePorts(), args, env);
  runs.push(run);
  return run;
}

/**
 * Trades until one is acknowledged (the bazaar may be electing or recovering). The load before may
 * have sold Stock1 out, so it buys while there is a share and sells otherwise; each kind under a
 * key of its own, since a key stays bound to the answer its first trade got.
 */
async function tradeSucceeds(run: BazaarRun, key: string): Promise<number> {
  let last = '';
  return waitFor('a trade to be acknowledged', async () => {
    const stock = await http<{ quantity: number }>(`${run.frontend}/stocks?stock_name=Stock1`, { timeoutMs: 2000 });
    last = `lookup: ${stock.status} ${stock.text}`;
    if (stock.status !== 200) return undefined;
    const trade_type = stock.body.quantity > 0 ? 'buy' : 'sell';
    const res = await placeOrder(run.frontend, { stock_name: 'Stock1', trade_type, quantity: 1 }, `${key}-${trade_type}`);
    last = `${res.status} ${res.text}`;
    return res.status === 200 ? res.body.order_no : undefined;
  }, 60000).catch((e: Error) => {
    throw new Error(`${e.message}; last answer: ${last}`);
  });
}

/** The services a default run has: the catalog, the replicas of its ports, the front end. */
const serviceNames = (run: BazaarRun) => ['catalog', ...run.ports.replicas.map((_, i) => `order-${i + 1}`), 'frontend'];

/**
 * Whether process `pid` still runs. An orphan's exit is reaped by PID 1 (or a subreaper), which a
 * container's init may never do: a zombie counts as gone.
 */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return process.platform !== 'linux'; // no /proc entry on Linux: gone
    } catch {
      return false;
    }
  }
}

/** The pids of every process of `run` still there: whichever has the run's DATA_DIR in its environment (npm, the supervisor, each service). */
function processesOf(run: BazaarRun): number[] {
  const entry = `DATA_DIR=${run.dataDir}`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return alive(pid) && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    });
}

/** Whether 127.0.0.1:`port` can be bound (closed again at once). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

describe('npm start', () => {
  it('elects replica 3, survives SIGKILLs of the leader, the catalog and the front end under load, and restarts each', async () => {
    const run = await startBazaar();
    await run.waitOutput(/the bazaar is ready: replica 3 leads/);
    const token = readFileSync(join(run.dataDir, 'cluster-token'), 'utf8').trim();
    expect(statSync(join(run.dataDir, 'cluster-token')).mode & 0o777).toBe(0o600);
    expect(run.out).toContain('cluster token created in data/cluster-token');
    expect(run.out).not.toContain(token);
    expect(run.out).toMatch(/watch it +http:\/\/127\.0\.0\.1:\d+\/status/);
    // Route mappings are debug lines; each service says once that it is ready.
    expect(run.out).not.toMatch(/Mapped \{/);
    for (const name of ['catalog', 'order-1', 'order-2', 'order-3', 'frontend']) expect(run.out).toContain(`[bazaar] ${name} is ready (pid `);
    // A clean start says nothing at warn or above: not the readiness polls' `GET /leader` 503s
    // before the first election, nor a new replica's wait for its peers, which start alongside it.
    expect(run.out.split('\n').filter((line) => /"level":[456]0\b/.test(line))).toEqual([]);

    const pids = () => Object.fromEntries(['catalog', 'frontend', 'order-1', 'order-2', 'order-3'].map((n) => [n, run.pid(n)]));
    const before = pids();
    // CPU_SCHEDULING's default: every thread of every service under SCHED_BATCH.
    for (const [name, pid] of Object.entries(before)) {
      const policies = threadPolicies(pid!);
      expect({ name, policies }).toEqual({ name, policies: policies.map(() => SchedPolicy.batch) });
    }
    // The README's load run (the client CLI, which exits non-zero on any error or read-back
    // mismatch) next to the suite's own load, whose acknowledged orders are checked in the logs.
    const client = startNode(appMain('client'), ['load', '--sessions', '5', '--p', '0.8', '--duration', '25', '--quiet', '--url', run.frontend], {}, 120_000);
    const load = tradeLoad(run, { sessions: 3 });
    await load.acked(30);

    // The README's command.
    const mark = run.out.length;
    run.sh('kill -9 $(cat data/run/order-3.pid)');
    await run.waitOutput(new RegExp(`\\[bazaar\\] order-3 \\(pid ${before['order-3']}\\) was killed by SIGKILL; restarting it in 1 s`), 10000, mark);
    await run.waitOutput(/\[bazaar\] order-3 started \(pid \d+\)/, 10000, mark);
    await run.waitOutput(/\[bazaar\] order-3 is ready again/, 60000, mark);
    const acked = load.outcome.acked.length;
    await load.acked(acked + 30);
    const outcome = await load.stop();
    expect(outcome.errors).toEqual([]);
    const cli = await client.done;
    expect({ code: cli.code, stderr: cli.stderr, ...(cli.code !== 0 && { stdout: cli.stdout }) }).toEqual({ code: 0, stderr: '' });
    expect(cli.stdout).toMatch(/^errors +0$/m);
    expect(cli.stdout).toMatch(/^result: PASS/m);
    const after = pids();
    expect(after['order-3']).not.toBe(before['order-3']);
    expect({ ...after, 'order-3': 0 }).toEqual({ ...before, 'order-3': 0 });
    const log = await run.converged();
    await expectConsistent(run, log, outcome.acked);

    // The catalog, then the front end: each restarted, at once (nothing stands in for either, as
    // the banner said); trades resume; nothing acknowledged lost.
    expect(run.out).toMatch(/ {2}a replica that dies is restarted after 1 s, the catalog and the front end at once \(--no-restart leaves it down\)\n/);
    for (const name of ['catalog', 'frontend']) {
      const from = run.out.length;
      const pid = run.pid(name)!;
      process.kill(pid, 'SIGKILL');
      await run.waitOutput(new RegExp(`\\[bazaar\\] ${name} \\(pid ${pid}\\) was killed by SIGKILL; restarting it in 0 s\\n`), 10000, from);
      await run.waitOutput(new RegExp(`\\[bazaar\\] ${name} is ready again`), 60000, from);
      await tradeSucceeds(run, `after-${name}`);
      expect(run.pid(name)).not.toBe(pid);
    }
    const final = await run.converged();
    expect(final.length).toBeGreaterThanOrEqual(log.length + 2);
    await expectConsistent(run, final, outcome.acked);
    await expectReadable(run, outcome.acked.slice(-20));

    // Ctrl-C / SIGTERM stops everything gracefully, exit code 0.
    const servicePids = Object.values(pids()) as number[];
    expect(await run.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(run.supervisorLines.at(-1)).toBe('[bazaar] stopped');
    for (const pid of servicePids) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('with --no-restart leaves a killed replica down, keeps serving, and `npm start -- order 2` brings it back', async () => {
    const run = await startBazaar(['--no-restart']);
    await run.waitOutput(/the bazaar is ready: replica 3 leads/);
    expect(run.out).toContain('restarts are off');
    const pid = run.pid('order-2')!;
    const from = run.out.length;
    process.kill(pid, 'SIGKILL');
    await run.waitOutput(/order-2 \(pid \d+\) was killed by SIGKILL; not restarting it \(restarts are off\): start it again with `npm start -- order 2`/, 10000, from);

    const load = tradeLoad(run, { sessions: 3 });
    await load.acked(40);
    expect(run.pid('order-2')).toBeUndefined();

    // The README's hand restart: the same script, one service, same working directory (data, token).
    const single = new BazaarRun(run.cwd, run.ports, ['order', '2']);
    runs.push(single);
    await single.waitOutput(/\[bazaar\] order-2 is ready \(pid \d+\)/);
    await load.acked(load.outcome.acked.length + 20);
    const outcome = await load.stop();
    expect(outcome.errors).toEqual([]);
    const log = await run.converged();
    await expectConsistent(run, log, outcome.acked);
    // The single service joined the cluster: the front end sees it ready.
    await waitFor('replica 2 ready at the front end', async () => {
      const res = await http<{ replicas: { id: number; state: string }[] }>(`${run.frontend}/leader`);
      return res.body.replicas?.find((r) => r.id === 2)?.state === 'ready';
    }, 10000);

    // Starting a service whose port is taken says so in one line and exits 1.
    const singlePid = single.pid('order-2');
    expect(singlePid).toBeDefined();
    const twice = new BazaarRun(run.cwd, run.ports, ['order', '2']);
    runs.push(twice);
    expect(await twice.waitExit(60000)).toEqual({ code: 1, signal: null });
    // ... and leaves the running replica's pid file as it was (`kill $(cat data/run/order-2.pid)` still works).
    expect(single.pid('order-2')).toBe(singlePid);
    // Its database file is the running one's (the same data directory): the lock on it is met first.
    expect(twice.out).toContain(`[order-2] order-2: database file ${join(run.dataDir, 'order-2.sqlite')} is in use by another process: is this service already running on this data directory?`);
    expect(twice.out).not.toMatch(/EADDRINUSE|    at /);
    expect(twice.supervisorLines.join('\n')).toMatch(/order-2 \(pid \d+\) exited with code 1 before it was ready: stopping/);

    expect(await single.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(await run.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('a second bazaar on the same data directory, on other ports, is refused in one line and changes nothing', async () => {
    const first = await startBazaar();
    await first.waitOutput(/the bazaar is ready: replica 3 leads/, 120_000);
    const before = await tradeSucceeds(first, 'before-second');
    const second = await startBazaar([], {}, first.cwd);
    expect(await second.waitExit(60_000)).toEqual({ code: 1, signal: null });
    expect(second.out).toMatch(/database file \S+\.sqlite is in use by another process: is this service already running on this data directory\?/);
    expect(second.out).not.toMatch(/^\s+at /m);
    // The first bazaar's services, pid files and data are its own still.
    for (const name of serviceNames(first)) expect(alive(first.pid(name)!)).toBe(true);
    expect(await tradeSucceeds(first, 'after-second')).toBe(before + 1);
    await first.converged();
    expect(await first.stop('SIGINT', 60_000)).toEqual({ code: 0, signal: null });
  });

  it('reuses the token file in a second run and in a single app started by hand', async () => {
    const cwd = BazaarRun.workdir();
    const first = await startBazaar([], {}, cwd);
    await first.waitOutput(/the bazaar is ready/);
    const token = readFileSync(join(first.dataDir, 'cluster-token'), 'utf8').trim();
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    const second = new BazaarRun(cwd, first.ports);
    runs.push(second);
    await second.waitOutput(/the bazaar is ready/);
    expect(second.out).toContain('cluster token read from data/cluster-token');
    expect(readFileSync(join(second.dataDir, 'cluster-token'), 'utf8').trim()).toBe(token);
    // The services use it: internal endpoints want exactly that token.
    const catalog = `http://127.0.0.1:${first.ports.catalog}`;
    expect((await http(`${catalog}/query?stock_name=Stock1`)).status).toBe(401);
    expect((await http(`${catalog}/query?stock_name=Stock1`, { headers: { 'x-cluster-token': token } })).status).toBe(200);

    // A single app with DATA_DIR pointing there, started the README's other way (node dist/…).
    const pid = second.pid('order-1')!;
    second.sh(`kill -9 ${pid}`);
    await second.waitOutput(/order-1 \(pid \d+\) was killed by SIGKILL; restarting/);
    await second.stop();
    const single = await runNode(appMain('catalog'), [], { ...portsEnv(first.ports), DATA_DIR: second.dataDir, LOG_LEVEL: 'log', LOG_FORMAT: 'json' }, 8000);
    expect(single.stdout).toContain('listening on');
    expect(single.stdout + single.stderr).not.toContain('CLUSTER_TOKEN is not set');
    expect(single.stdout + single.stderr).not.toContain(token);
  });

  it('runs two front ends with FRONTENDS=2: a trade through one is seen at once through the other', async () => {
    const run = await startBazaar([], { FRONTENDS: '2' });
    await run.waitOutput(/the bazaar is ready: replica 3 leads/);
    const second = `http://127.0.0.1:${run.ports.frontend + 1}`;
    expect(run.out).toContain(`front ends   ${run.frontend}, ${second}`);
    expect(run.out).toContain('[bazaar] frontend-2 is ready (pid ');
    for (const [via, other] of [
      [run.frontend, second],
      [second, run.frontend],
    ]) {
      const before = (await http(`${other}/stocks?stock_name=Stock4`)).body.quantity as number; // cached there now
      expect((await placeOrder(via, { stock_name: 'Stock4', trade_type: 'buy', quantity: 2 })).status).toBe(200);
      expect((await http(`${other}/stocks?stock_name=Stock4`)).body.quantity).toBe(before - 2);
    }
    // Both agree on one leader and epoch.
    const leaders = await Promise.all([run.frontend, second].map(async (u) => (await http(`${u}/leader`)).body));
    expect(leaders[1]).toMatchObject({ leader: leaders[0].leader, epoch: leaders[0].epoch });
    expect(await run.stop()).toEqual({ code: 0, signal: null });
  });

  it('when the supervisor itself is SIGKILLed, every service stops and frees its port, and the next npm start starts', async () => {
    const run = await startBazaar();
    await run.waitOutput(/the bazaar is ready: replica 3 leads/);
    const pids = Object.fromEntries(serviceNames(run).map((n) => [n, run.pid(n)!]));
    for (const pid of Object.values(pids)) expect(alive(pid)).toBe(true);

    // The supervisor alone (an OOM kill, say): not its process group, so no service is signalled.
    run.child.kill('SIGKILL');
    expect(await run.waitExit()).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor('every service to exit once its supervisor is gone', async () => Object.values(pids).every((pid) => !alive(pid)), 60_000).catch(
      (e: Error) => {
        throw new Error(`${e.message}; still running: ${Object.entries(pids).filter(([, pid]) => alive(pid)).map(([n, pid]) => `${n} (pid ${pid})`).join(', ')}`);
      },
    );
    const ports = [run.ports.catalog, run.ports.frontend, ...run.ports.replicas];
    expect(await Promise.all(ports.map(async (port) => ({ port, free: await canBind(port) })))).toEqual(ports.map((port) => ({ port, free: true })));

    // The next `npm start` in the same directory finds its ports free.
    const next = new BazaarRun(run.cwd, run.ports);
    runs.push(next);
    await next.waitOutput(/the bazaar is ready/);
    expect(next.out).not.toContain('already in use');
    expect(await next.stop()).toEqual({ code: 0, signal: null });
  });

  describe('run by npm itself (`npm start`), with npm\'s process in between', () => {
    async function viaNpm(): Promise<{ run: BazaarRun; pids: number[] }> {
      const run = new BazaarRun(BazaarRun.workdir(), await freePorts(), [], {}, 'npm');
      runs.push(run);
      await run.waitOutput(/the bazaar is ready: replica 3 leads/, 120_000);
      const pids = serviceNames(run).map((n) => run.pid(n)!);
      for (const pid of pids) expect(alive(pid)).toBe(true);
      return { run, pids };
    }

    // npm passes SIGINT and SIGTERM on to its script's process; under `sh -c` without exec the
    // shell took them, and the supervisor never heard (SIGTERM left the whole bazaar running).
    it.each(['SIGTERM', 'SIGINT'] as const)('%s sent to npm alone stops every service gracefully, and npm exits 0', async (signal) => {
      const { run, pids } = await viaNpm();
      expect(await run.stop(signal, 60_000)).toEqual({ code: 0, signal: null });
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(run.supervisorLines).toContainEqual(`[bazaar] ${signal}: stopping every service (again to kill them at once)`);
      expect(run.supervisorLines).toContain('[bazaar] stopped');
      expect(run.out).not.toContain('again: killing');
    });

    it("Ctrl-C (SIGINT to npm's whole process group, which npm passes on too) is one stop, graceful, not a second Ctrl-C's kill", async () => {
      const { run, pids } = await viaNpm();
      process.kill(-run.child.pid!, 'SIGINT');
      expect(await run.waitExit(60_000)).toEqual({ code: 0, signal: null });
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(run.out).not.toContain('again: killing');
      expect(run.supervisorLines).toContain('[bazaar] stopped');
    });

    // npm is what a terminal or a process manager holds and signals. Killed, it left the bazaar
    // running unseen, with its ports and its data files' locks, so that the next start failed.
    it('npm SIGKILLed alone: the supervisor stops every service, and nothing of the run is left', async () => {
      const { run, pids } = await viaNpm();
      const npm = run.child.pid!;
      process.kill(npm, 'SIGKILL');
      await run.waitOutput(new RegExp(`^npm start: npm \\(pid ${npm}\\), which ran this bazaar, is gone: stopping every service$`, 'm'), 30_000);
      await waitFor('nothing of the run left', async () => processesOf(run).length === 0, 60_000);
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(run.supervisorLines).toContain('[bazaar] stopped');
      expect(run.out).not.toMatch(/killed by SIGTERM|again: killing/);
    });

    // npm writes its own `> stock-bazaar@1.0.0 start` header first: on a full disk that write
    // fails and npm exits 1, before the supervisor's own ENOSPC handling could matter.
    it('`npm start > /dev/full`: npm fails on its own header (exit 1), and the bazaar stops too instead of running on orphaned', async () => {
      const run = await startOnDevFull('npm-loud');
      expect((await run.waitExit(60_000)).code).toBe(1);
      await run.waitOutput(/^npm start: npm \(pid \d+\), which ran this bazaar, is gone: stopping every service$/m, 30_000);
      await waitFor('nothing of the run left', async () => processesOf(run).length === 0, 60_000);
    });

    // Closing the terminal sends SIGHUP to its foreground process group. npm does not pass it on
    // and dies of it; the supervisor and the services, whose default would be to die at once,
    // stop gracefully instead.
    it('the terminal closing (SIGHUP to the whole process group) stops every service gracefully', async () => {
      const { run, pids } = await viaNpm();
      process.kill(-run.child.pid!, 'SIGHUP');
      await waitFor('every service to stop', async () => pids.every((pid) => !alive(pid)), 60_000);
      await run.waitOutput(/^\[bazaar\] stopped$/m, 30_000);
      expect(run.supervisorLines).toContain('[bazaar] SIGHUP: stopping every service (again to kill them at once)');
      for (const name of serviceNames(run)) expect(run.out).toMatch(new RegExp(`^\\[${name}\\] .*SIGHUP: draining HTTP`, 'm'));
      expect(run.out).not.toMatch(/killed by SIGHUP|again: killing/);
    });
  });

  it('stops every service gracefully when its standard output is closed (`npm start | head`), without a crash', async () => {
    const run = await startBazaar();
    await run.waitOutput(/the bazaar is ready: replica 3 leads/);
    const pids = serviceNames(run).map((n) => run.pid(n)!);
    // The reader is gone, as `head` once it has its lines; the next line the supervisor writes
    // (a replica's death) fails with EPIPE.
    run.child.stdout!.destroy();
    process.kill(run.pid('order-1')!, 'SIGKILL');
    expect(await run.waitExit(60_000)).toEqual({ code: 0, signal: null });
    expect(run.out).toMatch(/^npm start: standard output failed \(EPIPE\): stopping every service$/m);
    expect(run.out).not.toMatch(/^\s+at /m); // no stack trace
    // The supervisor waited for each: none left behind.
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  // A full disk under the file its output goes to is no reason to stop trading: `/dev/full`
  // answers every write with ENOSPC.
  it('runs on when its standard output fails for another reason than a reader gone (ENOSPC), and says so once on stderr', async () => {
    const run = await startOnDevFull('script');
    await run.waitOutput(/^npm start: standard output failed \(ENOSPC\): its lines are dropped from now on; the services run on$/m);
    // Every service comes up and trades, its lines dropped; the failure was said once.
    expect(await tradeSucceeds(run, 'stdout-full')).toBeGreaterThan(0);
    for (const name of serviceNames(run)) expect(alive(run.pid(name)!)).toBe(true);
    expect(run.out.match(/standard output failed/g)).toHaveLength(1);
    expect(run.out).not.toMatch(/^\s+at /m);
    expect(await run.stop('SIGINT', 60_000)).toEqual({ code: 0, signal: null });
  });

  it('says once that a setting looks misspelled, naming the one meant, and runs on', async () => {
    // `FRONTEND_PROT` was ignored in silence: the front end ran on its default port.
    const run = await startBazaar([], { FRONTEND_PROT: '31001' });
    await run.waitOutput(/the bazaar is ready: replica 3 leads/);
    const line = 'FRONTEND_PROT is not a setting of the bazaar, and is ignored: did you mean FRONTEND_PORT?';
    expect(run.out.split('\n').filter((l) => l.includes(line))).toEqual([`npm start: ${line}`]);
  });

  it('names the option given on the command line when its value is bad, and the variable otherwise', async () => {
    const flag = await runNode(START_SCRIPT, ['--restart-delay', '3s'], portsEnv(await freePorts()), 10_000);
    expect({ code: flag.code, stderr: flag.stderr }).toEqual({ code: 1, stderr: 'npm start: --restart-delay must be a whole number of milliseconds (got "3s")\n' });
    const variable = await runNode(START_SCRIPT, [], { RESTART_DELAY_MS: '3s', ...portsEnv(await freePorts()) }, 10_000);
    expect({ code: variable.code, stderr: variable.stderr }).toEqual({ code: 1, stderr: 'npm start: RESTART_DELAY_MS must be a whole number of milliseconds (got "3s")\n' });
  });

  describe('refuses a data directory it cannot use in one line naming DATA_DIR, exit code 1, at once', () => {
    const cases: [string, (dir: string) => string][] = [
      ['a file', (d) => tokenFile(d, 'x', 0o600, 'a-file')],
      ['under a file', (d) => join(tokenFile(d, 'x', 0o600, 'a-file'), 'data')],
      // mkdir -p under /proc never returns (Node's recursive mkdir spins on ENOENT there).
      ['under /proc', () => '/proc/no-such-dir/data'],
    ];
    it.each(cases)('%s', async (_what, dataDirOf) => {
      const dataDir = dataDirOf(scratchDir());
      const r = await runNode(START_SCRIPT, [], { DATA_DIR: dataDir, ...portsEnv(await freePorts()) }, 10_000);
      expect({ code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ code: 1, lines: 1 });
      expect(r.stderr).toMatch(new RegExp(`^npm start: DATA_DIR ${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(r.stdout).not.toMatch(/started \(pid/);
    });
  });

  describe('refuses a bad token file in one line, exit code 1', () => {
    const token = 'a-token-of-enough-length';
    const cases: [string, (dir: string) => Record<string, string>, RegExp][] = [
      ['missing', (d) => ({ CLUSTER_TOKEN_FILE: join(d, 'absent') }), /cluster token file .*absent cannot be read \(ENOENT\)/],
      ['empty', (d) => ({ CLUSTER_TOKEN_FILE: tokenFile(d, '', 0o600) }), /cluster token file .*token is empty/],
      ['world-readable', (d) => ({ CLUSTER_TOKEN_FILE: tokenFile(d, token, 0o644) }), /cluster token file .*token is readable by every user \(mode 644\)/],
      ['not a token', (d) => ({ CLUSTER_TOKEN_FILE: tokenFile(d, 'has spaces in it, too', 0o600) }), /does not hold a token/],
      ['set together with CLUSTER_TOKEN', (d) => ({ CLUSTER_TOKEN_FILE: tokenFile(d, token, 0o600), CLUSTER_TOKEN: token }), /set CLUSTER_TOKEN or CLUSTER_TOKEN_FILE, not both/],
    ];

    it.each(cases)('%s: npm start and a single app', async (_what, envOf, message) => {
      const dir = scratchDir();
      const env = envOf(dir);
      const viaStart = await runNode(START_SCRIPT, [], { ...env, ...portsEnv(await freePorts()) }, 15000);
      expect({ code: viaStart.code, lines: viaStart.stderr.trim().split('\n').length }).toEqual({ code: 1, lines: 1 });
      expect(viaStart.stderr).toMatch(message);
      const single = await runNode(appMain('catalog'), [], { ...env, DATA_DIR: dir }, 15000);
      expect({ code: single.code, lines: single.stderr.trim().split('\n').length }).toEqual({ code: 1, lines: 1 });
      expect(single.stderr).toMatch(new RegExp(`^catalog: .*${message.source}`));
      expect(single.stdout + single.stderr).not.toContain(token);
    });

    it('a world-readable token file in the data directory too', async () => {
      const dir = scratchDir();
      tokenFile(join(dir), token, 0o644, 'cluster-token');
      const single = await runNode(appMain('order'), [], { DATA_DIR: dir }, 15000);
      expect(single.code).toBe(1);
      expect(single.stderr.trim()).toMatch(/^order-1: cluster token file .*cluster-token is readable by every user/);
    });
  });
});

function tokenFile(dir: string, content: string, mode: number, name = 'token'): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

describe('a replica with a wrong cluster token', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.start();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('stays not ready, says why at error level, and is never elected, not even when it would complete a majority', async () => {
    expect(await c.leaderId()).toBe(3);
    await c.kill('order-3');
    await c.waitNewLeader(3);
    // Started directly: the testkit's start waits for an internal endpoint, which this replica refuses.
    c.spawnApp('order-3', 'order', { ORDER_ID: '3', CLUSTER_TOKEN: 'not-the-cluster-token-at-all', LOG_LEVEL: 'log', LOG_FORMAT: 'json' });
    await waitFor('the token error in its log', async () => c.log('order-3').includes('rejected this replica\'s cluster token (401)'));
    const line = c.log('order-3').split('\n').find((l) => l.includes('rejected this replica'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 50 }); // pino's error
    const ping = await http(`${c.replica(3)}/ping`);
    expect(ping.status).toBe(503);
    expect(ping.body).toEqual({ error: { code: 503, message: "not ready: peers reject this replica's cluster token (401)" }, code: 'not_ready' });
    // Liveness stays up (the process is fine, its configuration is not), and its report says why it is not ready.
    const health = await http(`${c.replica(3)}/health`);
    expect(health.status).toBe(200);
    expect(health.body.info.recovery).toMatchObject({ ready: false, reason: "peers reject this replica's cluster token (401)" });

    // The leader fails too. Replica 1 is the only one left that could lead, and a leader needs a
    // majority (2 of 3): replica 3 refuses its calls, so nobody may lead and trades are refused.
    // The misconfigured replica must not get the job either.
    const leader = await c.leaderId();
    expect(leader).toBe(2);
    await c.kill('order-2');
    const refused = await waitFor('a trade refused for want of a majority', async () => {
      const res = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
      return res.status === 503 ? res : undefined;
    });
    expect(refused.body).toMatchObject({ order_no: -1 });
    expect((await http(`${c.replica(3)}/ping`)).status).toBe(503);
    expect((await http(`${c.replica(3)}/health`)).body.info.recovery).toMatchObject({ ready: false });

    // Replica 2 comes back: 1 and 2 form a majority again, one of them leads, never replica 3.
    await c.startReplica(2);
    const traded = await waitFor('a trade through a leader of replicas 1 and 2', async () => {
      const res = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
      return res.status === 200 ? res : undefined;
    }, 60000);
    expect(traded.body.order_no).toBeGreaterThan(0);
    expect([1, 2]).toContain(await c.leaderId());
    expect((await http(`${c.replica(3)}/ping`)).status).toBe(503);
  });
});
