import type { SweepPoint, SweepResult, SweepRow } from '@app/loadgen';
import { mergeSweeps } from './merge-sweeps';

/** A one-p sweep as runSweep returns it (only the fields merging looks at are realistic). */
function run(p: number, over: Partial<SweepResult> = {}): SweepResult {
  return {
    version: 1,
    kind: 'sweep',
    config: { url: `http://127.0.0.1:${3000 + p * 10}`, sessions: 5, ps: [p], iterations: null, duration_s: 8, seed: 100 + p, timeout_ms: 10000, started_at: `start-${p}` },
    cache_enabled: true,
    points: [{ p } as SweepPoint],
    table: [{ p } as SweepRow],
    warnings: [],
    interrupted: false,
    timing: { finished_at: `end-${p}`, wall_s: 8.5 },
    passed: true,
    ...over,
  };
}

describe('mergeSweeps', () => {
  it('joins one-p runs into one sweep of every p, in order', () => {
    const merged = mergeSweeps([run(0), run(0.2, { warnings: ['GET /cache/stats after p=0.2 failed'] }), run(0.4)], [0, 0.2, 0.4], 7);
    expect(merged.config).toMatchObject({ ps: [0, 0.2, 0.4], seed: 7, sessions: 5, started_at: 'start-0', url: 'http://127.0.0.1:3000' });
    expect(merged.points.map((pt) => pt.p)).toEqual([0, 0.2, 0.4]);
    expect(merged.table.map((row) => row.p)).toEqual([0, 0.2, 0.4]);
    expect(merged.warnings).toEqual(['GET /cache/stats after p=0.2 failed']);
    expect(merged.timing).toEqual({ finished_at: 'end-0.4', wall_s: 25.5 });
    expect(merged).toMatchObject({ interrupted: false, passed: true, cache_enabled: true });
  });

  it('is interrupted, and not passed, when a run was interrupted or some p never ran', () => {
    expect(mergeSweeps([run(0), run(0.2, { interrupted: true, passed: false })], [0, 0.2], 1)).toMatchObject({ interrupted: true, passed: false });
    expect(mergeSweeps([run(0)], [0, 0.2], 1)).toMatchObject({ interrupted: true, passed: false });
  });

  it('fails when any run failed, and takes the cache state from the first run that knew it', () => {
    const merged = mergeSweeps([run(0, { cache_enabled: null }), run(0.2, { passed: false, cache_enabled: false })], [0, 0.2], 1);
    expect(merged).toMatchObject({ passed: false, interrupted: false, cache_enabled: false });
  });

  it('refuses an empty list', () => {
    expect(() => mergeSweeps([], [0], 1)).toThrow('no run');
  });
});
