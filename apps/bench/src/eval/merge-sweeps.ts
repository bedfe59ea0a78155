import type { SweepResult } from '@app/loadgen';

/**
 * The runs of one sweep, each made by {@link runSweep} with one p on its own cluster, as one sweep
 * of every p: points, table rows and warnings in run order. `ps` are the probabilities the sweep
 * was to run; fewer runs than that, or any run interrupted, make it interrupted. The config is the
 * first run's (its URL is that run's cluster) with every p and the sweep's `seed`.
 */
export function mergeSweeps(runs: SweepResult[], ps: number[], seed: number): SweepResult {
  if (runs.length === 0) throw new Error('mergeSweeps: no run to merge');
  const [first, last] = [runs[0], runs[runs.length - 1]];
  const interrupted = runs.length < ps.length || runs.some((r) => r.interrupted);
  return {
    version: 1,
    kind: 'sweep',
    config: { ...first.config, ps: runs.flatMap((r) => r.config.ps), seed },
    cache_enabled: runs.find((r) => r.cache_enabled !== null)?.cache_enabled ?? null,
    points: runs.flatMap((r) => r.points),
    table: runs.flatMap((r) => r.table),
    warnings: runs.flatMap((r) => r.warnings),
    interrupted,
    timing: { finished_at: last.timing.finished_at, wall_s: Math.round(runs.reduce((s, r) => s + r.timing.wall_s, 0) * 1000) / 1000 },
    passed: !interrupted && runs.every((r) => r.passed),
  };
}
