import { aggregate } from './bench-report';
import type { Measurement } from './cannon';
import { selectScenarios } from './scenarios';
import { formatTargets, judgeTargets } from './targets';

function run(rps: number, p50: number, p99: number, connections = 10): Measurement {
  return {
    connections,
    duration_s: 10,
    responses: rps * 10,
    requests_per_s: rps,
    latency_ms: { count: rps * 10, mean_ms: p50, p50_ms: p50, p90_ms: p99 / 2, p99_ms: p99, max_ms: p99 * 2 },
    autocannon: { latency_p50_ms: 0, latency_p99_ms: 1, requests_per_s_average: rps },
    status_codes: { '200': rps * 10 },
    non_2xx: 0,
    errors: 0,
    timeouts: 0,
  };
}

const ALL = ['trade-c1', 'trade', 'lookup-cached-c5', 'ceiling-adapter-c5'];

function records(runs: Record<string, Measurement[]>, cpu: number[] = [1.2, 1.1, 1.3]) {
  return aggregate(selectScenarios(ALL), new Map(Object.entries(runs)), new Map([['trade', cpu.map((c) => ({ cpu_ms_per_request: c }))]]), 10);
}

describe('judgeTargets', () => {
  const full = {
    ceiling: [run(10000, 0.5, 5), run(10000, 0.5, 5), run(10000, 0.5, 5)],
    'ceiling-c5': [run(9000, 0.3, 4, 5), run(9000, 0.3, 4, 5), run(9000, 0.3, 4, 5)],
    // The machine is slow in round 2: the floor's p99 and the lookup's both double.
    'ceiling-adapter-c5': [run(24000, 0.15, 0.8, 5), run(12000, 0.3, 1.6, 5), run(24000, 0.15, 0.8, 5)],
    'lookup-cached-c5': [run(20000, 0.2, 1.0, 5), run(10000, 0.4, 2.0, 5), run(20000, 0.2, 1.1, 5)],
    trade: [run(1300, 6, 18), run(1100, 7, 20), run(1250, 6.5, 19)],
    'trade-c1': [run(400, 2.4, 5, 1), run(350, 2.9, 6, 1), run(380, 2.6, 5, 1)],
  };

  it('judges every target from the run, ratios within each round', () => {
    const verdicts = judgeTargets(records(full));
    expect(verdicts.map((v) => [v.target.split(',')[0].split(' ≤')[0], v.measured, v.met])).toEqual([
      ['one trade at 1 connection (trade-c1)', 2.6, true],
      ['trades at 10 connections ÷ the bare NestJS ceiling at 10', 0.125, true],
      ['CPU per acknowledged trade at 10 connections', 1.2, true],
      ["cached lookup p99 at 5 connections ÷ the bare app on the bazaar's adapter", 1.25, true],
      ['cached lookup p99 at 5 connections', 1.1, false],
    ]);
    // Round by round 1.25, 1.25, 1.375 → 1.25; the medians alone (1.1 / 0.8 = 1.375) would fail it.
    expect(verdicts[3].rounds).toEqual([1.25, 1.25, 1.375]);
    // The absolute bound names the floors under it, measured in the same run.
    expect(verdicts[4].context).toBe("p99 at 5 connections of the bare NestJS ceiling: 4.000 ms; the same app on the bazaar's adapter: 0.800 ms");
    expect(verdicts.slice(0, 4).every((v) => v.context === undefined)).toBe(true);
  });

  it('holds a bound reached exactly, and fails one missed by a little', () => {
    const exact = { ...full, trade: full.trade.map(() => run(1200, 6, 18)), 'trade-c1': full['trade-c1'].map(() => run(300, 6, 8, 1)) };
    const at = judgeTargets(records(exact, [1.5, 1.5, 1.5]));
    expect(at.slice(0, 3).map((v) => [v.measured, v.met])).toEqual([
      [6, true],
      [0.12, true],
      [1.5, true],
    ]);
    const over = { ...full, trade: full.trade.map(() => run(1199, 6, 18)), 'trade-c1': full['trade-c1'].map(() => run(300, 6.01, 8, 1)) };
    const missed = judgeTargets(records(over, [1.51, 1.51, 1.51])).slice(0, 3);
    expect(missed.map((v) => v.met)).toEqual([false, false, false]);
    // 1199 / 10000 = 0.1199 is recorded (and printed) to 4 places: not as the bound it misses (0.120).
    expect(missed[1].measured).toBe(0.1199);
    expect(formatTargets(missed)).toContain('req/s ≥ 0.12: 0.1199');
  });

  it('leaves out the targets whose scenarios did not run, or ran at other connections', () => {
    const onlyLookups = { 'ceiling-adapter-c5': full['ceiling-adapter-c5'], 'lookup-cached-c5': full['lookup-cached-c5'], 'ceiling-c5': full['ceiling-c5'] };
    expect(judgeTargets(records(onlyLookups)).map((v) => v.unit)).toEqual(['ratio', 'ms']);
    const at20 = { ...full, trade: full.trade.map((r) => ({ ...r, connections: 20 })), ceiling: full.ceiling.map((r) => ({ ...r, connections: 20 })) };
    expect(judgeTargets(records(at20)).map((v) => v.target)).not.toEqual(expect.arrayContaining([expect.stringContaining('10 connections')]));
  });

  it('leaves out the CPU target when a run has no CPU figure (off Linux)', () => {
    expect(judgeTargets(records(full, [])).some((v) => v.target.startsWith('CPU'))).toBe(false);
  });
});

describe('formatTargets', () => {
  it('prints a line per target: the verdict, the bound, the median and the rounds’ range', () => {
    const text = formatTargets([
      { target: 'trade-c1 p50 ≤ 6 ms', measured: 2.6, unit: 'ms', rounds: [2.4, 2.9, 2.6], met: true },
      { target: 'lookup ratio ≤ 1.3', measured: 1.375, unit: 'ratio', rounds: [1.375], met: false },
      { target: 'lookup p99 ≤ 1 ms', measured: 1.1, unit: 'ms', rounds: [1.1], met: false, context: 'floor 0.8 ms' },
    ]);
    expect(text.split('\n')).toEqual([
      'targets (medians over the rounds; a ratio is taken within each round, then its median):',
      '  met      trade-c1 p50 ≤ 6 ms: 2.600 ms (rounds 2.400 ms–2.900 ms)',
      '  NOT met  lookup ratio ≤ 1.3: 1.3750',
      '  NOT met  lookup p99 ≤ 1 ms: 1.100 ms — floor 0.8 ms',
      '',
    ]);
    expect(formatTargets([])).toBe('');
  });
});
