import type { FaultEvent } from '@app/verify';
import { formatSummary } from './summary';
import { nemesisErrors, runVerdict } from './verdict';

const ev = (t: number, kind: string, target: string, detail?: string): FaultEvent => ({ type: 'nemesis', t, kind, target, ...(detail ? { detail } : {}) });

const FAULTS: FaultEvent[] = [
  ev(100, 'kill', 'order-2', 'follower'),
  ev(400, 'restart', 'order-2'),
  // Retried, and the next attempt came up: expected now and then, not an error.
  ev(410, 'restart-retry', 'order-2', 'restart attempt 1 failed, retrying: port in use'),
  ev(2_000, 'ready', 'order-2', '1600 ms after it was restarted'),
];

describe('chaos run verdict: nemesis errors fail a run', () => {
  it('a run whose checks passed, that settled and had no nemesis error, passes; a retried restart attempt is not an error', () => {
    expect(runVerdict(true, FAULTS)).toEqual({ ok: true, unsettled: [], nemesisErrors: [] });
    expect(runVerdict(false, FAULTS).ok).toBe(false);
  });

  it('any error event fails it — a failed restart, a front end not serving in time, an exception in the nemesis — and is listed', () => {
    for (const error of [
      ev(5_000, 'error', 'order-2', 'restart attempt 3 failed: port in use'),
      ev(5_000, 'error', 'frontend-2', 'not serving 60000 ms after it was restarted'),
      ev(5_000, 'error', 'nemesis', 'the partition nemesis needs the cluster on namespace hosts (NetLab)'),
    ]) {
      const verdict = runVerdict(true, [...FAULTS, error]);
      expect(verdict.ok).toBe(false);
      expect(verdict.unsettled).toEqual([]);
      expect(verdict.nemesisErrors).toEqual([`5000 ms ${error.target}: ${error.detail}`]);
    }
    expect(nemesisErrors([ev(7.4, 'error', 'nemesis')])).toEqual(['7 ms nemesis: error']);
  });

  it('not-settled events fail it on their own, beside the errors', () => {
    const verdict = runVerdict(true, [...FAULTS, ev(3_000, 'not-settled', 'cluster', 'no agreement'), ev(4_000, 'error', 'order-1', 'not ready')]);
    expect(verdict).toEqual({ ok: false, unsettled: ['3000 ms cluster: no agreement'], nemesisErrors: ['4000 ms order-1: not ready'] });
  });

  it('the summary lists the errors and says FAIL even when every check passed', () => {
    const stats = { total: 0, ok: 0, fail: 0, unknown: 0 };
    const base = {
      title: 'run',
      stats: { reads: stats, tradeAttempts: stats, trades: { total: 0, ok: 0, refused: 0, failed: 0, unknown: 0, retried: 0 }, readbacks: stats, operations: stats },
      faultsInjected: {},
      checks: [{ id: 'no-gaps', title: 'order numbers 1..N without gaps', verdict: 'pass' as const, counts: {}, violations: [], violationCount: 0 }],
    };
    expect(formatSummary(base)).toMatch(/RESULT: PASS — all 1 checks passed$/);
    const one = formatSummary({ ...base, nemesisErrors: ['5000 ms order-2: restart attempt 3 failed: port in use'] });
    expect(one).toContain('NEMESIS ERROR: 5000 ms order-2: restart attempt 3 failed: port in use');
    expect(one).toMatch(/RESULT: FAIL — all 1 checks passed; 1 nemesis error$/);
    const both = formatSummary({ ...base, unsettled: ['3000 ms cluster: no agreement'], nemesisErrors: ['1 ms a: x', '2 ms b: y'] });
    expect(both).toMatch(/RESULT: FAIL — all 1 checks passed; the cluster did not settle once; 2 nemesis errors$/);
    const failing = formatSummary({ ...base, checks: [{ ...base.checks[0], verdict: 'fail' as const }], nemesisErrors: ['1 ms a: x'] });
    expect(failing).toMatch(/RESULT: FAIL — 1 of 1 checks failed: no-gaps; 1 nemesis error$/);
  });
});
