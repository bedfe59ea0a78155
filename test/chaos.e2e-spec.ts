import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { partitionAvailability } from '../apps/chaos/src/hosts';
import { ChaosReport, runChaos, summarize } from '../apps/chaos/src/runner';

/**
 * The chaos run of `npm run chaos` as part of `npm test`: 60 seconds of concurrent client sessions
 * under the default nemesis (kills, pauses, restarts and crash fault points of order replicas, at
 * most one down at a time), then every guarantee of the bazaar checked over the history and the final
 * state. The history, report and process logs go to results/chaos-e2e-<time>/.
 *
 * CHAOS_E2E_SECONDS changes the duration, CHAOS_E2E_SEED the seed; CHAOS_E2E=off skips the run.
 *
 * A second, shorter run uses the partition nemesis: every process on its own network namespace
 * host, one replica (leader or follower) cut off from the other two, the leader cut off from the
 * front end, or the front end cut off from the catalog, by blackhole routes or drop rules. It needs root, `ip netns` and `nft`; without them
 * it is skipped with one line on stderr — except with `CI` set, where it fails instead.
 * CHAOS_E2E_PARTITION_SECONDS changes its duration; seed 32 starts with the leader isolated
 * (drop), then the front end cut off from the catalog (blackhole: its lookups fail, and only they
 * are excused; the catalog must wait out its lease, and it must stop serving its cache), then the
 * leader cut off from the front end (drop).
 *
 * A third run has two front ends, each request going to one at random, and faults of the front
 * ends among the replicas': one paused past its cache lease, one killed and restarted (a new
 * process, which waits out its predecessor's lease), the catalog's pushes to one swallowed or
 * refused while it keeps its lease. Reads must never go back for a session moving between them,
 * and no read through either may miss a trade acknowledged before it began. The crossing reader
 * runs too (session 6): while one front end loses its pushes, it reads each stock through the
 * other and then through that one.
 * CHAOS_E2E_FRONTENDS_SECONDS changes its duration. Seed 3 reached every front-end fault in 45 s on
 * this machine; a slower one may reach fewer, so the test asks for at least one.
 *
 * A fourth run, gated like the second (root; under CI it must run), has partitions and two front
 * ends at once: each front end on a namespace host of its own, the push relays on the lab's bridge,
 * the nemesis picking from partitions (among them the leader cut from one front end only, and the
 * two front ends cut from different replicas, which must settle on the one both reach) and the front
 * ends' faults. CHAOS_E2E_PARTITION_FRONTENDS_SECONDS changes its duration;
 * seed 12 reached every front-end fault and the two front ends cut from different replicas in 30 s on
 * this machine.
 */
const seconds = Number(process.env.CHAOS_E2E_SECONDS ?? 60);
const seed = Number(process.env.CHAOS_E2E_SEED ?? 7);
const partitionSeconds = Number(process.env.CHAOS_E2E_PARTITION_SECONDS ?? 30);
const partitionSeed = 32;
const frontendsSeconds = Number(process.env.CHAOS_E2E_FRONTENDS_SECONDS ?? 45);
const frontendsSeed = 3;
const partitionFrontendsSeconds = Number(process.env.CHAOS_E2E_PARTITION_FRONTENDS_SECONDS ?? 30);
const partitionFrontendsSeed = 12;
const run = process.env.CHAOS_E2E === 'off' ? describe.skip : describe;

const outDir = (name: string) => join(__dirname, '..', 'results', `${name}-${new Date().toISOString().replace(/\..*$/, '').replace(/:/g, '-')}`);

/** Every check passed; otherwise the summary (with the violations) is in the failure message. */
function expectAllChecksPass(title: string, report: ChaosReport): void {
  const summary = summarize(title, report);
  const failed = report.checks.filter((c) => c.verdict === 'fail').map((c) => c.id);
  expect({ failed, summary: failed.length ? summary : 'ok' }).toEqual({ failed: [], summary: 'ok' });
  // A partition the cluster did not settle after, front ends not agreeing at the end, or an election storm.
  expect({ unsettled: report.unsettled, summary: report.unsettled.length ? summary : 'ok' }).toEqual({ unsettled: [], summary: 'ok' });
  // A failed restart, a process not ready or serving in time, an exception in the nemesis: each fails the run.
  expect({ nemesisErrors: report.nemesisErrors, summary: report.nemesisErrors.length ? summary : 'ok' }).toEqual({ nemesisErrors: [], summary: 'ok' });
  expect(report.ok).toBe(true);
  expect(report.stats.trades.ok).toBeGreaterThan(0);
  expect(Object.values(report.faultsInjected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
}

run('chaos run (default nemesis)', () => {
  it(
    `${seconds} s of faults, seed ${seed}: every check of the history passes`,
    async () => {
      const lines: string[] = [];
      const report = await runChaos({ duration: seconds, seed, sessions: 5, nemesis: 'default', out: outDir('chaos-e2e'), keepData: false, log: (l) => lines.push(l) });
      expectAllChecksPass(`chaos e2e: seed ${seed}, ${seconds} s`, report);
    },
    (seconds + 240) * 1000,
  );
});

run('chaos run (two front ends, front-end faults and lost pushes)', () => {
  it(
    `${frontendsSeconds} s, seed ${frontendsSeed}: every check passes, reads included, across both front ends`,
    async () => {
      const lines: string[] = [];
      const report = await runChaos({
        duration: frontendsSeconds,
        seed: frontendsSeed,
        sessions: 5,
        frontends: 2,
        nemesis: 'default',
        faults: ['kill-leader', 'pause-follower', 'pause-frontend', 'kill-frontend', 'lose-pushes'],
        out: outDir('chaos-e2e-frontends'),
        keepData: false,
        log: (l) => lines.push(l),
      });
      console.log(
        `chaos front-ends e2e: ${report.stats.trades.ok} trades acknowledged, ${report.stats.reads.ok} reads, faults ${JSON.stringify(report.faultsInjected)}, ` +
          `crossing reader ${JSON.stringify(report.crossing)}`,
      );
      expect(report.options.frontends).toBe(2);
      expect(report.crossing?.session).toBe(6);
      // It read across every lost-push window it saw (none is cut short at its start here).
      if (report.crossing!.windows > 0) expect(report.crossing!.pairs).toBeGreaterThan(0);
      expect(Object.keys(report.faultsInjected).some((k) => /front end/.test(k))).toBe(true);
      const reads = report.checks.find((c) => c.id === 'acked-visible');
      expect(reads?.counts.reads).toBeGreaterThan(0);
      expectAllChecksPass(`chaos front-ends e2e: seed ${frontendsSeed}, ${frontendsSeconds} s`, report);
    },
    (frontendsSeconds + 240) * 1000,
  );
});

const partitions = partitionAvailability();
const marker = process.env.CHAOS_PARTITION_MARKER;
if (marker) writeFileSync(marker, partitions.ok ? 'ran\n' : `skipped: ${partitions.reason}\n`);
const partitionRun = process.env.CHAOS_E2E === 'off' || (!partitions.ok && !process.env.CI) ? describe.skip : describe;
if (!partitions.ok && process.env.CHAOS_E2E !== 'off' && !process.env.CI) {
  process.stderr.write(`chaos partition e2e cannot run here: ${partitions.reason} — skipped\n`);
}

partitionRun('chaos run (partition nemesis, network namespaces)', () => {
  it(
    `${partitionSeconds} s of partitions, seed ${partitionSeed}: every check passes and the namespaces are gone afterwards`,
    async () => {
      if (!partitions.ok) throw new Error(`chaos partition e2e cannot run here: ${partitions.reason} — and CI is set, so that is a failure`);
      const lines: string[] = [];
      let prefix = '';
      const report = await runChaos({
        duration: partitionSeconds,
        seed: partitionSeed,
        sessions: 5,
        nemesis: 'default',
        faults: ['partition'],
        out: outDir('chaos-e2e-partition'),
        keepData: false,
        log: (l) => lines.push(l),
        onLab: (lab) => (prefix ||= lab?.plan.prefix ?? ''),
      });
      console.log(`chaos partition e2e: ${report.stats.trades.ok} trades acknowledged, faults ${JSON.stringify(report.faultsInjected)}, ` +
        `elections ${JSON.stringify(report.elections)}, partitions ${JSON.stringify(report.partitions)}, timings ${JSON.stringify(report.timings)}`);
      expect(report.network).toBe('namespaces');
      expect(Object.keys(report.faultsInjected).every((k) => k.startsWith('partition'))).toBe(true);
      // Its second partition (at about 7 s): lost invalidations under a real cut.
      expect(report.partitions.filter((p) => p.shape === 'frontend-from-catalog').length).toBeGreaterThan(0);
      expectAllChecksPass(`chaos partition e2e: seed ${partitionSeed}, ${partitionSeconds} s`, report);
      expectNamespacesGone(prefix);
    },
    (partitionSeconds + 300) * 1000,
  );
});

partitionRun('chaos run (partitions with two front ends, and the front ends\' faults)', () => {
  it(
    `${partitionFrontendsSeconds} s, seed ${partitionFrontendsSeed}: every check passes across both front ends and the namespaces are gone afterwards`,
    async () => {
      if (!partitions.ok) throw new Error(`chaos partition e2e cannot run here: ${partitions.reason} — and CI is set, so that is a failure`);
      const lines: string[] = [];
      let prefix = '';
      const report = await runChaos({
        duration: partitionFrontendsSeconds,
        seed: partitionFrontendsSeed,
        sessions: 5,
        frontends: 2,
        nemesis: 'default',
        // No replica kills: a replica's restart on its host takes about 10 s, a third of the run.
        faults: ['partition', 'pause-frontend', 'kill-frontend', 'lose-pushes'],
        out: outDir('chaos-e2e-partition-frontends'),
        keepData: false,
        log: (l) => lines.push(l),
        onLab: (lab) => (prefix ||= lab?.plan.prefix ?? ''),
      });
      console.log(
        `chaos partition front-ends e2e: ${report.stats.trades.ok} trades acknowledged, ${report.stats.reads.ok} reads, faults ${JSON.stringify(report.faultsInjected)}, ` +
          `elections ${JSON.stringify(report.elections)}, partitions ${JSON.stringify(report.partitions)}, crossing reader ${JSON.stringify(report.crossing)}, timings ${JSON.stringify(report.timings)}`,
      );
      expect(report.network).toBe('namespaces');
      expect(report.options.frontends).toBe(2);
      // Partitions ran, and every one settled with both front ends on one leader (no nemesis error).
      expect(Object.keys(report.faultsInjected).some((k) => k.startsWith('partition'))).toBe(true);
      expect(report.faults.filter((f) => f.kind === 'error')).toEqual([]);
      expectAllChecksPass(`chaos partition front-ends e2e: seed ${partitionFrontendsSeed}, ${partitionFrontendsSeconds} s`, report);
      expectNamespacesGone(prefix);
    },
    (partitionFrontendsSeconds + 300) * 1000,
  );
});

/** The run removed the namespaces it made (those named with `prefix`). */
function expectNamespacesGone(prefix: string): void {
  expect(prefix).not.toBe('');
  expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(prefix))).toEqual([]);
}
