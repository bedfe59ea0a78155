import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeDataDir } from '@app/common/fs/data-dir';
import { onStopSignals, STOP_SIGNALS } from '@app/common/lifecycle/stop-signals';
import { ensureTokenFile, readTokenFile, TOKEN_FILE_NAME } from '@app/common/security/token-file';
import { ConfigError, misspelledSettingLine, misspelledSettings } from '@app/contracts';
import { banner, shownPath } from './banner';
import { LineWriter } from './line-writer';
import { npmPid, watchParent } from './parent-watch';
import { DEFAULT_RESTART, msSetting } from './restart-policy';
import { dataDir, parseSelection, serviceSpecs } from './services';
import { Supervisor } from './supervisor';

/** The repository root: dist/apps/bazaar/src → four levels up. */
const ROOT = join(__dirname, '..', '..', '..', '..');
const mainPath = (app: string) => join(ROOT, 'dist', 'apps', app, 'src', 'main.js');

const COLORS = [36, 32, 33, 35, 34, 31];
const colorOf = new Map<string, number>();

function run(argv: string[]): void {
  const program = new Command()
    .name('npm start --')
    .description(
      'Runs the bazaar: the catalog, every order replica of ORDER_REPLICAS and the front end, restarting any that dies.\n' +
        'With a service named, runs only that one, e.g. to bring a stopped replica back into a running bazaar.',
    )
    .argument('[service...]', 'catalog, frontend [n] or order <id>; none: all of them')
    .addOption(new Option('--no-restart', 'leave a service that dies down (also RESTART=off)'))
    .addOption(new Option('--restart-delay <ms>', 'delay before a restart (also RESTART_DELAY_MS)'))
    .showHelpAfterError()
    .parse(argv);
  const opts = program.opts<{ restart: boolean; restartDelay?: string }>();
  const env = { ...process.env };
  /** Standard output and error, each bounded while its reader stalls; closed once it fails: nothing more is written there. */
  const dropped = (n: number) => `${paint('bazaar', '[bazaar]')} ${n} line${n === 1 ? '' : 's'} dropped: this output was not read fast enough\n`;
  const out = new LineWriter(process.stdout, dropped);
  const err = new LineWriter(process.stderr, dropped);
  /** Writes lines of the supervisor's own, in one write (a reader never sees half of a banner). */
  const say = (...lines: string[]) => void out.write(lines.map((line) => `${paint('bazaar', '[bazaar]')} ${line}\n`).join(''));

  let specs;
  let restartDelayMs;
  let stopTimeoutMs;
  try {
    specs = serviceSpecs(env, parseSelection(program.args));
    restartDelayMs =
      opts.restartDelay !== undefined
        ? msSetting({ '--restart-delay': opts.restartDelay }, '--restart-delay', DEFAULT_RESTART.delayMs)
        : msSetting(env, 'RESTART_DELAY_MS', DEFAULT_RESTART.delayMs);
    // The services' own drain, and a little more before they are killed.
    stopTimeoutMs = msSetting(env, 'SHUTDOWN_TIMEOUT_MS', 10_000) + 5000;
    makeDataDir(dataDir(env));
    prepareToken(env, say);
  } catch (e) {
    // Usage, settings, the token file: one line, as the apps say theirs.
    if (!(e instanceof Error)) throw e;
    process.stderr.write(`npm start: ${e.message}\n`);
    process.exit(1);
  }
  for (const app of new Set(specs.map((s) => s.app))) {
    if (!existsSync(mainPath(app))) {
      process.stderr.write(`npm start: ${mainPath(app)} is missing: run \`npm run build\` (npm install does it) first\n`);
      process.exit(1);
    }
  }
  // A setting written wrong would be ignored silently, the service running on its default.
  for (const m of misspelledSettings(env)) err.write(`npm start: ${misspelledSettingLine(m)}\n`);
  // The apps write through a pipe here: ask for readable lines when a person is watching.
  if (!env.LOG_FORMAT && process.stdout.isTTY) env.LOG_FORMAT = 'pretty';
  const restartOff = !opts.restart || /^(off|false|0|no)$/i.test(env.RESTART ?? '');
  const restart = { ...DEFAULT_RESTART, enabled: !restartOff, delayMs: restartDelayMs, maxDelayMs: Math.max(DEFAULT_RESTART.maxDelayMs, restartDelayMs) };
  const dir = dataDir(env);
  const supervisor = new Supervisor(specs, {
    restart,
    dataDir: dir,
    mainPath,
    env,
    stopTimeoutMs,
    say,
    relay: (name, line, stream) => void (stream === 'stdout' ? out : err).write(`${paint(name, `[${name}]`)} ${line}\n`),
    onAllReady: async () => {
      if (specs.length === 1) return;
      say(...(await banner(env, dir, restart)));
    },
  });

  // A second Ctrl-C (or SIGTERM, or SIGHUP) kills every service at once. Closing the terminal
  // sends SIGHUP, whose default in Node is to die at once (`nohup` does not help: Node resets
  // ignored signals at start), which would cut the services' requests in flight.
  onStopSignals(
    (signal) => {
      say(`${signal}: stopping every service (again to kill them at once)`);
      void supervisor.stop(0);
    },
    (signal) => {
      say(`${signal} again: killing every service now`);
      supervisor.kill();
    },
    [...STOP_SIGNALS, 'SIGHUP'],
  );
  // Standard output failing would otherwise be an uncaught 'error' that kills the supervisor
  // alone. EPIPE: its reader is gone (`npm start | head` has read its lines), as a killed writer's
  // would be on SIGPIPE: stop every service gracefully, as on Ctrl-C, and say why on stderr. Any
  // other failure (ENOSPC: the log's disk is full; EIO) is no reason to stop trading: the lines
  // are dropped from then on, the services run on, and stderr says so once. A failing stderr is
  // ignored: there is nowhere left to say it.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    out.close();
    const why = e.code ?? e.message;
    if (e.code === 'EPIPE') {
      err.write(`npm start: standard output failed (${why}): stopping every service\n`);
      void supervisor.stop(0);
    } else {
      err.write(`npm start: standard output failed (${why}): its lines are dropped from now on; the services run on\n`);
    }
  });
  process.stderr.on('error', () => err.close());
  // npm gone (SIGKILLed; or dead of its own header's write to a full disk, `npm start > full`):
  // nothing holds or signals the bazaar any more, and it would keep its ports and data files.
  const npm = npmPid(process.env);
  supervisor.start();
  if (npm !== undefined) {
    watchParent(npm, () => {
      err.write(`npm start: npm (pid ${npm}), which ran this bazaar, is gone: stopping every service\n`);
      void supervisor.stop(1);
    });
  }
  void supervisor.done.then((code) => process.exit(code));
}

/**
 * Settles the cluster token before any child starts: `CLUSTER_TOKEN` or a valid
 * `CLUSTER_TOKEN_FILE` is passed on as it is; otherwise the data directory's token file is made
 * (mode 0600) or reused, and every child finds it there. The token itself is never printed.
 */
function prepareToken(env: NodeJS.ProcessEnv, say: (line: string) => void): void {
  if (env.CLUSTER_TOKEN && env.CLUSTER_TOKEN_FILE) throw new ConfigError('set CLUSTER_TOKEN or CLUSTER_TOKEN_FILE, not both');
  if (env.CLUSTER_TOKEN) return;
  if (env.CLUSTER_TOKEN_FILE) {
    readTokenFile(env.CLUSTER_TOKEN_FILE);
    return;
  }
  const dir = dataDir(env);
  const file = join(dir, TOKEN_FILE_NAME);
  const { created } = ensureTokenFile(file);
  say(`cluster token ${created ? 'created in' : 'read from'} ${shownPath(file)} (mode 0600; every service of this data directory uses it)`);
}

function paint(name: string, text: string): string {
  if (!process.stdout.isTTY) return text;
  if (!colorOf.has(name)) colorOf.set(name, COLORS[colorOf.size % COLORS.length]);
  return `\x1b[${colorOf.get(name)}m${text}\x1b[0m`;
}

run(process.argv);
