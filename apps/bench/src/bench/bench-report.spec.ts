import { aggregate, formatBenchTable, formatComparison, medianByProcess } from './bench-report';
import type { Measurement } from './cannon';
import { selectScenarios } from './scenarios';

function run(rps: number, p99: number, extra: Partial<Measurement> = {}): Measurement {
  return {
    connections: 10,
    duration_s: 10,
    responses: rps * 10,
    requests_per_s: rps,
    latency_ms: { count: rps * 10, mean_ms: p99 / 4, p50_ms: p99 / 5, p90_ms: p99 / 2, p99_ms: p99, max_ms: p99 * 2 },
    autocannon: { latency_p50_ms: 0, latency_p99_ms: 1, requests_per_s_average: rps },
    status_codes: { '200': rps * 10 },
    non_2xx: 0,
    errors: 0,
    timeouts: 0,
    ...extra,
  };
}

describe('aggregate', () => {
  const scenarios = selectScenarios(['trade']);

  it('takes medians over the runs and the median of the per-round ratios to the ceiling', () => {
    const runsOf = new Map([
      ['ceiling', [run(1000, 2), run(2000, 4), run(1500, 3)]],
      ['trade', [run(100, 50), run(150, 40, { non_2xx: 2, errors: 1, timeouts: 1 }), run(120, 60)]],
    ]);
    const [ceiling, trade] = aggregate(scenarios, runsOf, new Map(), 10);
    expect(ceiling).toMatchObject({ name: 'ceiling', requests_per_s: 1500, ratio_to_ceiling: null, requests_per_s_range: [1000, 2000] });
    expect(ceiling.latency_ms).toEqual({ mean: 0.75, p50: 0.6, p90: 1.5, p99: 3, max: 8 });
    // Per-round ratios 0.1, 0.075, 0.08 → median 0.08 (not 120 / 1500 = 0.08 by chance: see the next case).
    expect(trade).toMatchObject({ name: 'trade', requests_per_s: 120, ratio_to_ceiling: 0.08, non_2xx: 2, errors: 2, responses: 3700, ceiling: 'ceiling' });
    expect(trade.latency_ms.p99).toBe(50);
  });

  it('pairs each run with the ceiling of its own round', () => {
    const runsOf = new Map([
      ['ceiling', [run(1000, 1), run(4000, 1)]],
      ['trade', [run(100, 1), run(400, 1)]],
    ]);
    const [, trade] = aggregate(scenarios, runsOf, new Map(), 10);
    // Both rounds: 10 % of the ceiling, though the medians alone (250 / 2500) would agree here too.
    expect(trade.ratio_to_ceiling).toBe(0.1);
  });

  it('leaves out scenarios that never ran (interrupted)', () => {
    expect(aggregate(scenarios, new Map([['ceiling', [run(1000, 1)]], ['trade', []]]), new Map(), 10).map((s) => s.name)).toEqual(['ceiling']);
  });
});

describe('bench tables', () => {
  const runsOf = new Map([
    ['ceiling', [run(2000, 4)]],
    ['trade', [run(100, 50, { non_2xx: 3 })]],
  ]);
  const records = aggregate(selectScenarios(['trade']), runsOf, new Map([['trade', [{ cpu_ms_per_request: 4.25 }]]]), 10);

  it('prints scenario, connections, req/s, percentiles, ratio to the ceiling, CPU per request, non-2xx and errors', () => {
    const lines = formatBenchTable(records).split('\n');
    expect(lines[0]).toMatch(/^scenario\s+conns\s+req\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+vs ceiling\s+CPU ms\/req\s+non-2xx\s+errors$/);
    expect(lines[1]).toMatch(/^ceiling\s+10\s+2000\s+0\.800\s+2\.000\s+4\.000\s+-\s+-\s+0\s+0$/);
    expect(lines[2]).toMatch(/^trade\s+10\s+100\s+10\.000\s+25\.000\s+50\.000\s+5\.0 %\s+4\.250\s+3\s+0$/);
  });

  it('adds the req/s range with several runs', () => {
    const multi = aggregate(selectScenarios(['ceiling']), new Map([['ceiling', [run(900, 1), run(1100, 1)]]]), new Map(), 10);
    expect(formatBenchTable(multi)).toContain('900–1100');
  });

  it('compares with an earlier run', () => {
    const before = aggregate(selectScenarios(['trade']), new Map([['ceiling', [run(2000, 4)]], ['trade', [run(80, 100)]]]), new Map(), 10);
    const text = formatComparison(records, before, 'old.json');
    expect(text).toContain('compared with old.json:');
    expect(text).toMatch(/trade\s+80\s+100\s+\+25\.0 %\s+100\.000\s+50\.000\s+-50\.0 %/);
  });
});

describe('CPU per process', () => {
  it('takes each process\'s median over the runs that measured it', () => {
    const runs = [{ frontend: 0.6, 'order-1': 0.4 }, { frontend: 0.7, 'order-1': 0.2 }, { frontend: 0.65, 'order-1': 0.3 }];
    expect(medianByProcess(runs)).toEqual({ frontend: 0.65, 'order-1': 0.3 });
    expect(medianByProcess([undefined, null])).toBeNull();
    expect(medianByProcess([])).toBeNull();
  });

  it('is part of a scenario\'s record, null when no run measured it', () => {
    const runsOf = new Map([['trade', [run(100, 50), run(110, 40)]]]);
    const checks = [
      { cpu_ms_per_request: 2, cpu_ms_per_request_by_process: { frontend: 1, catalog: 1 } },
      { cpu_ms_per_request: 3, cpu_ms_per_request_by_process: { frontend: 2, catalog: 1 } },
    ];
    const [trade] = aggregate(selectScenarios(['trade']).filter((s) => s.name === 'trade'), runsOf, new Map([['trade', checks]]), 10);
    expect(trade.cpu_ms_per_request_by_process).toEqual({ frontend: 1.5, catalog: 1 });
    const [bare] = aggregate(selectScenarios(['trade']).filter((s) => s.name === 'trade'), runsOf, new Map(), 10);
    expect(bare.cpu_ms_per_request_by_process).toBeNull();
  });
});
