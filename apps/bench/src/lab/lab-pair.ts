import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Cluster, ClusterOptions } from '@app/testkit';
import { withCluster } from '../common/cluster-run';
import { BENCH_CLUSTER } from '../common/cluster-settings';
import { findRoot, gitInfo, machineInfo } from '../common/environment';
import { formatMachine, type GitInfo } from '../common/format';
import { checkpoint, recordRunFailure, type Lifecycle } from '../common/lifecycle';
import { baselineProblems } from '../compare/baseline';
import { CLIENT_MAIN, finishRecord, phase, recordHead, restock, type LabOptions } from './lab';
import { formatLabPairs, pairRatios, summarizePairs, type LabPairRound, type LabPairSummary, type LabSide } from './lab-figures';
import type { LabVariant } from './variant';

export interface LabPairRecord {
  kind: 'lab-pair';
  started_at: string;
  machine: ReturnType<typeof machineInfo>;
  cluster_env: Record<string, string>;
  options: Omit<LabOptions, 'outDir'>;
  baseline: { root: string; git: GitInfo; env: Record<string, string>; node_args: string[] };
  variant: { root: string; git: GitInfo; env: Record<string, string>; node_args: string[] };
  notes: string[];
  rounds: LabPairRound[];
  summary: LabPairSummary | null;
  interrupted: boolean;
  error: string | null;
}

/** The command line a process runs with, from /proc; null when it cannot be read (gone, or not Linux). */
function commandLine(pid: number | undefined): string[] | null {
  if (pid === undefined) return null;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return null;
  }
}

const emptySide = (): LabSide => ({ cold: null, warm: null, command_line: null });

/**
 * `npm run bench:lab` with a variant (`--variant-env`, `--variant-node-args`) or a `--baseline`
 * build: the lab's load on two fresh clusters at once, the baseline and the variant, started one
 * after the other (each first every other round) and loaded at the same moment — cold right after
 * both have a leader, then warm once both are restocked — so that the host's speed, which drifts
 * by 2× within minutes on a shared VM, is the same for both. Each shares the two cores with the other, so their absolute figures are higher
 * than a lone cluster's; the ratios (variant ÷ baseline, per round) are what the run is for.
 * Writes <out>/lab-pair-<timestamp>.json.
 */
export async function runLabPairs(
  options: LabOptions,
  variant: LabVariant,
  life: Lifecycle,
  log: (text: string) => void,
  print: (text: string) => void,
): Promise<number> {
  const root = findRoot();
  const baselineRoot = variant.baseline === undefined ? root : resolve(variant.baseline);
  const problems = variant.baseline === undefined ? [] : baselineProblems(baselineRoot);
  if (problems.length > 0) {
    for (const p of problems) log(`error: ${p}\n`);
    return 2;
  }
  const started = new Date();
  const record: LabPairRecord = {
    ...recordHead('lab-pair', started, options),
    baseline: { root: baselineRoot, git: gitInfo(baselineRoot), env: {}, node_args: [] },
    variant: { root, git: gitInfo(root), env: variant.env, node_args: variant.nodeArgs },
    notes: [
      "both clusters: the apps' default settings with cluster_env on top; the variant's env and node_args on top of that",
      'each round: two fresh clusters started one after the other (the baseline first in odd rounds, the variant in even ones), then the client app run against both at once, cold, then again warm after both are restocked',
      'ratios: variant ÷ baseline within each round; the two clusters share the cores, so each runs slower than it would alone',
    ],
    rounds: [],
    summary: null,
    interrupted: false,
    error: null,
  };
  const baselineCluster: ClusterOptions = { ...BENCH_CLUSTER, root: baselineRoot };
  const variantCluster: ClusterOptions = { ...BENCH_CLUSTER, env: { ...BENCH_CLUSTER.env, ...variant.env }, nodeArgs: variant.nodeArgs };
  log(`machine: ${formatMachine(record.machine)}\n`);
  log(`baseline: ${baselineRoot}${variant.baseline === undefined ? ' (this build, default settings)' : ''}\n`);
  log(`variant:  ${root}, env ${JSON.stringify(variant.env)}, node options ${JSON.stringify(variant.nodeArgs)}\n`);
  try {
    if (!existsSync(CLIENT_MAIN)) throw new Error(`the client is not built (no ${CLIENT_MAIN}): run npm run build`);
    for (let r = 1; r <= options.rounds; r++) {
      checkpoint(life.signal);
      log(`round ${r}/${options.rounds}: starting two fresh clusters…\n`);
      const row: LabPairRound = { round: r, baseline: emptySide(), variant: emptySide(), ratios: pairRatios(emptySide(), emptySide()) };
      record.rounds.push(row);
      // The one started second has a little less time to settle: each goes first every other round.
      const [first, second] = r % 2 === 1 ? [baselineCluster, variantCluster] : [variantCluster, baselineCluster];
      await withCluster(first, life.children, (one) =>
        withCluster(second, life.children, async (other) => {
          const [a, b] = r % 2 === 1 ? [one, other] : [other, one];
          const sides: [Cluster, LabSide][] = [[a, row.baseline], [b, row.variant]];
          await Promise.all([a.waitLeading(), b.waitLeading()]);
          for (const [cluster, side] of sides) side.command_line = commandLine(cluster.pid('frontend'));
          log(`  cold loads, both at once (${options.durationS} s)…`);
          const cold = await Promise.all(sides.map(([cluster]) => phase('cold', cluster, options, life)));
          [row.baseline.cold, row.variant.cold] = cold;
          log(` trade p50 ${cold[0].trade_p50_ms} / ${cold[1].trade_p50_ms} ms\n  restocking, then the warm loads…`);
          await Promise.all(sides.map(([cluster]) => restock(cluster)));
          checkpoint(life.signal);
          const warm = await Promise.all(sides.map(([cluster]) => phase('warm', cluster, options, life)));
          [row.baseline.warm, row.variant.warm] = warm;
          log(` trade p50 ${warm[0].trade_p50_ms} / ${warm[1].trade_p50_ms} ms\n`);
        }),
      );
      row.ratios = pairRatios(row.baseline, row.variant);
      const failed = [row.baseline.cold, row.baseline.warm, row.variant.cold, row.variant.warm].find((p) => p !== null && !p.passed);
      if (failed) throw new Error(`round ${r}: a ${failed.phase} load did not pass its check (errors, or orders not read back as placed)`);
    }
  } catch (err) {
    recordRunFailure(err, life.signal, record, log);
  }
  record.summary = summarizePairs(record.rounds);
  return finishRecord(record, options.outDir, formatLabPairs(record.rounds, record.summary), log, print);
}
