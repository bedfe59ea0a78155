import { join } from 'node:path';
import { runChaos } from '../apps/chaos/src/runner';
import { formatSummary } from '../apps/chaos/src/summary';

/**
 * The chaos run of `npm run chaos` as part of `npm test`: 60 seconds of concurrent client sessions
 * under the default nemesis (kills, pauses, restarts and crash fault points of order replicas, at
 * most one down at a time), then every guarantee of SPEC §6 checked over the history and the final
 * state. The history, report and process logs go to results/chaos-e2e-<time>/.
 *
 * CHAOS_E2E_SECONDS changes the duration, CHAOS_E2E_SEED the seed; CHAOS_E2E=off skips the run.
 */
const seconds = Number(process.env.CHAOS_E2E_SECONDS ?? 60);
const seed = Number(process.env.CHAOS_E2E_SEED ?? 7);
const run = process.env.CHAOS_E2E === 'off' ? describe.skip : describe;

run('chaos run (default nemesis)', () => {
  it(
    `${seconds} s of faults, seed ${seed}: every check of the history passes`,
    async () => {
      const out = join(__dirname, '..', 'results', `chaos-e2e-${new Date().toISOString().replace(/\..*$/, '').replace(/:/g, '-')}`);
      const lines: string[] = [];
      const report = await runChaos({ duration: seconds, seed, sessions: 5, nemesis: 'default', out, keepData: false, log: (l) => lines.push(l) });
      const summary = formatSummary({
        title: `chaos e2e: seed ${seed}, ${seconds} s`,
        stats: report.stats,
        faultsInjected: report.faultsInjected,
        checks: report.checks,
        converged: report.converged,
        timings: report.timings,
        files: { history: report.files.history, report: report.files.report },
      });
      const failed = report.checks.filter((c) => c.verdict === 'fail').map((c) => c.id);
      expect({ failed, summary: failed.length ? summary : 'ok' }).toEqual({ failed: [], summary: 'ok' });
      expect(report.stats.trades.ok).toBeGreaterThan(0);
      expect(Object.values(report.faultsInjected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    },
    (seconds + 240) * 1000,
  );
});
