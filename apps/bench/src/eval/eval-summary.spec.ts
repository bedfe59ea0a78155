import type { SweepRow } from '@app/loadgen';
import { observations, sweepMarkdownTable } from './eval-summary';
import { aggregateRuns } from './repeats';

const base: SweepRow = {
  p: 0,
  cache: 'on',
  lookups: 1000,
  lookup_mean_ms: 0.5,
  lookup_p50_ms: 0.4,
  lookup_p90_ms: 0.8,
  lookup_p99_ms: 2,
  trades: 0,
  trade_mean_ms: null,
  trade_p50_ms: null,
  trade_p90_ms: null,
  trade_p99_ms: null,
  throughput_rps: 2000,
  hit_ratio: 0.99,
  trades_ok: 0,
  trades_refused: 0,
  errors: 0,
  passed: true,
};

describe('evaluation summary', () => {
  const rows: SweepRow[] = [
    base,
    { ...base, p: 0.8, hit_ratio: 0.3, trades: 100, trade_mean_ms: 30, trade_p50_ms: 25, trade_p99_ms: 90, lookup_mean_ms: 0.7 },
    { ...base, cache: 'off', hit_ratio: null, lookup_mean_ms: 2 },
    { ...base, p: 0.8, cache: 'off', hit_ratio: null, lookup_mean_ms: 2.2, trades: 90, trade_mean_ms: 32, trade_p50_ms: 26, trade_p99_ms: 95 },
  ];

  it('renders a markdown table with a row per p and cache state', () => {
    const lines = sweepMarkdownTable(rows).split('\n');
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[0]).toMatch(/^\| p \| cache \| lookups \| lookup mean \|/);
    expect(lines[2]).toBe('| 0 | on | 1000 | 0.50 | 0.40 | 2.00 | 0 | – | – | – | 2000 | 99.0 % | 0 |');
    expect(lines[4]).toContain('| 0 | off |');
    expect(lines[4]).toMatch(/\| – \| 0 \|$/);
  });

  it('states what the figures say, in numbers', () => {
    const text = observations(rows).join('\n');
    expect(text).toContain('Lookup mean latency: 0.50–0.70 ms with the cache on, 2.00–2.20 ms with it off.');
    expect(text).toContain('At p = 0 the cache makes lookups 4.0× faster on average (2.00 → 0.50 ms).');
    expect(text).toContain('99.0 % at p = 0, 30.0 % at p = 0.8');
    expect(text).toContain('No request failed');
  });

  it('shows the lowest and highest run beside the median mean when there were repeats', () => {
    const runs = [30, 36, 70].map((ms, repeat) => ({ ...rows[1], trade_mean_ms: ms, repeat }));
    const [row] = aggregateRuns(runs);
    const line = sweepMarkdownTable([row]).split('\n')[2];
    expect(line).toBe('| 0.8 | on | 1000 | 0.70 (0.70–0.70) | 0.40 | 2.00 | 100 | 36.00 (30.00–70.00) | 25.00 | 90.00 | 2000 | 30.0 % | 0 |');
  });
});
