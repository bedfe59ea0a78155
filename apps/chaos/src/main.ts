import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Cluster, NetLab } from '@app/testkit';
import { CommanderError } from 'commander';
import { check, frontendOutages, historyStats, partitionWindows } from '@app/verify';
import { readHistory } from './history';
import { partitionAvailability } from './hosts';
import { buildProgram, CliOptions, parseOptions } from './options';
import { ChaosReport, FinalState, PartitionsUnavailable, runChaos, summarize } from './runner';
import { formatSummary } from './summary';
import { runVerdict } from './verdict';

/**
 * `npm run chaos -- --duration 60 --seed 7 [--sessions 5] [--frontends n] [--nemesis default|aggressive] [--faults <kinds>|all] [--out dir] [--keep-data]`
 *
 * `--faults partition` (or `all`) runs each process in its own network namespace — each front end
 * too, with `--frontends 2` or more — root only; the namespaces are removed at the end, on Ctrl-C
 * and on any failure.
 *
 * Exit status: 0 every check passed; 1 a check failed, the cluster did not settle (after a partition, or its front ends at the end), or the nemesis had an error (a failed restart, a process not ready in time); 2 the run could not be made (bad flag, apps
 * not built, the cluster did not start …); 130 interrupted.
 */
const processes = (c: Cluster) => ['catalog', ...c.frontendNames, 'order-1', 'order-2', 'order-3'];

async function main(): Promise<number> {
  let opts: CliOptions;
  const program = buildProgram().exitOverride();
  try {
    opts = parseOptions(process.argv.slice(2), program);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  if (opts.check) return recheck(opts.check);

  const root = findRoot();
  const missing = ['catalog', 'order', 'frontend'].filter((app) => !existsSync(join(root, 'dist', 'apps', app, 'src', 'main.js')));
  if (missing.length) {
    console.error(`the apps are not built (${missing.join(', ')}): run \`npm run build\` first`);
    return 2;
  }

  if (opts.faults.includes('partition')) {
    const available = partitionAvailability();
    if (!available.ok) {
      console.error(`chaos: ${new PartitionsUnavailable(available.reason).message}`);
      // `--faults all` asks for partitions too (with two or more front ends as well, since they have hosts of their own).
      const rest = opts.faults.filter((k) => k !== 'partition');
      if (rest.length) console.error(`chaos: without partitions: --faults ${rest.join(',')}`);
      return 2;
    }
  }

  const ac = new AbortController();
  let cluster: Cluster | null = null;
  let lab: NetLab | null = null;
  /** Kills every process of the cluster, then removes the namespaces (synchronous: runs on exit too). */
  const killAll = () => {
    for (const name of cluster ? processes(cluster) : []) {
      const pid = cluster?.isRunning(name) ? cluster.pid(name) : undefined;
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    lab?.destroy();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      console.error(`${sig} again: killing the cluster now`);
      killAll();
      process.exit(130);
    }
    console.error(`${sig}: stopping the run and the cluster (again to kill at once) …`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAll);

  console.log(
    `chaos: seed ${opts.seed}${opts.seedGiven ? '' : ' (random; pass --seed to repeat the schedule)'}, ${opts.duration} s, ${opts.sessions} sessions, ` +
      `${opts.frontends} front end${opts.frontends > 1 ? 's' : ''}${opts.leaseMs ? `, ${opts.leaseMs} ms leases` : ''}, ` +
      `nemesis ${opts.nemesis}, faults ${opts.faults.join(',')}, out ${opts.out}`,
  );
  let report: ChaosReport;
  try {
    report = await runChaos({
      duration: opts.duration,
      seed: opts.seed,
      sessions: opts.sessions,
      frontends: opts.frontends,
      leaseMs: opts.leaseMs,
      nemesis: opts.nemesis,
      out: opts.out,
      keepData: opts.keepData,
      tradeProbability: opts.tradeProbability,
      faults: opts.faults,
      log: (l) => console.log(l),
      signal: ac.signal,
      onCluster: (c) => (cluster = c),
      onLab: (l) => (lab = l),
    });
  } catch (e) {
    if (ac.signal.aborted) {
      console.error(`interrupted; the history so far is in ${join(opts.out, 'history.jsonl')}`);
      return 130;
    }
    if (e instanceof PartitionsUnavailable) {
      console.error(`chaos: ${e.message}`);
      return 2;
    }
    console.error(`chaos run failed: ${(e as Error).stack ?? String(e)}`);
    return 2;
  }
  const summary = summarize(
    `Chaos run: seed ${opts.seed}, nemesis ${opts.nemesis}, faults ${opts.faults.join(',')}, ${opts.duration} s, ${opts.sessions} sessions, ` +
      `${opts.frontends} front end${opts.frontends > 1 ? 's' : ''}, ${report.network} (started ${report.startedAt})`,
    report,
    {
      failureContext: report.failureContext,
      files: { history: report.files.history, report: report.files.report, 'process logs': report.files.processLogs, data: report.files.data },
    },
  );
  writeFileSync(report.files.summary, summary + '\n');
  console.log('\n' + summary);
  return report.ok ? 0 : 1;
}

/** `--check <dir>`: runs the checker again over a saved history and final state. */
function recheck(dir: string): number {
  const { ops, faults } = readHistory(join(dir, 'history.jsonl'));
  const final = JSON.parse(readFileSync(join(dir, 'final-state.json'), 'utf8')) as FinalState;
  const saved = existsSync(join(dir, 'report.json')) ? (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ChaosReport) : undefined;
  const nemesis = saved?.options.nemesis ?? 'default';
  const result = check({ nemesis, ops, logs: final.logs, catalog: final.catalog, partitions: partitionWindows(faults), frontendOutages: frontendOutages(faults) });
  const verdict = runVerdict(result.ok, faults);
  console.log(
    formatSummary({
      title: `Re-check of ${resolve(dir)} (nemesis ${nemesis})`,
      stats: historyStats(ops),
      faultsInjected: saved?.faultsInjected ?? {},
      elections: saved?.elections,
      partitions: saved?.partitions,
      unsettled: verdict.unsettled,
      nemesisErrors: verdict.nemesisErrors,
      crossing: saved?.crossing,
      checks: result.checks,
      converged: final.converged,
    }),
  );
  return verdict.ok ? 0 : 1;
}

function findRoot(): string {
  for (let dir = __dirname; dir !== resolve(dir, '..'); dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'nest-cli.json'))) return dir;
  }
  return process.cwd();
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
