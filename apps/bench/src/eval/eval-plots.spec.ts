import type { SweepRow } from '../../../client/src/sweep/sweep-runner';
import { failureSpec, hitRatioSpec, latencyPoints, latencySpec, thinSamples } from './eval-plots';
import { parseSamplesCsv, samplesCsv } from './failure-run';

function row(p: number, cache: 'on' | 'off', extra: Partial<SweepRow> = {}): SweepRow {
  return {
    p,
    cache,
    lookups: 100,
    lookup_mean_ms: 1,
    lookup_p50_ms: 0.8,
    lookup_p90_ms: 2,
    lookup_p99_ms: 5,
    trades: p === 0 ? 0 : 10,
    trade_mean_ms: p === 0 ? null : 20,
    trade_p50_ms: p === 0 ? null : 18,
    trade_p90_ms: p === 0 ? null : 30,
    trade_p99_ms: p === 0 ? null : 60,
    throughput_rps: 500,
    hit_ratio: cache === 'on' ? 0.9 - p : null,
    trades_ok: 9,
    trades_refused: 1,
    errors: 0,
    passed: true,
    ...extra,
  };
}

describe('evaluation plots', () => {
  it('plots mean, p50 and p99 of lookups and trades, skipping what was not measured', () => {
    const points = latencyPoints([row(0, 'on'), row(0.4, 'off')]);
    // p = 0 has no trades: 3 lookup figures; p = 0.4: 3 lookup + 3 trade figures.
    expect(points).toHaveLength(9);
    expect(points).toContainEqual({ p: 0.4, cache: 'cache off', type: 'trade', stat: 'p99', panel: 'p99', ms: 60 });
    expect(points.filter((pt) => pt.panel === 'mean and p50').every((pt) => pt.stat !== 'p99')).toBe(true);
    const spec = latencySpec([row(0, 'on')], 'sub') as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(3);
  });

  it('plots the hit ratio of the cache-on runs only', () => {
    const spec = hitRatioSpec([row(0, 'on'), row(0.4, 'on'), row(0, 'off')], 'sub') as { data: { values: unknown[] } };
    expect(spec.data.values).toEqual([
      { p: 0, hit_ratio: 0.9 },
      { p: 0.4, hit_ratio: 0.5 },
    ]);
  });

  it('draws a labelled rule per fault, and no ready rule after the end of the load', () => {
    const samples = [{ type: 'trade' as const, sent_at_ms: 0, latency_ms: 3, status: 200, outcome: 'ok' as const, t_s: 1 }];
    const faults = [
      { kind: 'leader killed' as const, label: 'leader killed (order-3)', replica: 3, t_s: 2 },
      { kind: 'leader restarted' as const, label: 'leader restarted (order-3)', replica: 3, t_s: 4, ready_t_s: 5 },
      { kind: 'follower killed' as const, label: 'follower killed (order-1)', replica: 1, t_s: 6 },
      { kind: 'follower restarted' as const, label: 'follower restarted (order-1)', replica: 1, t_s: 8, ready_t_s: 11 },
    ];
    const spec = failureSpec(samples, faults, 10, 'sub') as unknown as { layer: { data: { values: { t: number; label?: string }[] } }[] };
    const [points, readies, rules] = spec.layer;
    expect(points.data.values).toEqual([{ t: 1, ms: 3, type: 'trade' }]);
    expect(readies.data.values.map((r) => r.t)).toEqual([5]);
    expect(rules.data.values.map((r) => r.label)).toEqual(faults.map((f) => f.label));
  });

  it('thins a long series, keeping every slow request and every error', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => ({
      type: 'lookup' as const,
      sent_at_ms: i,
      latency_ms: i === 500 ? 900 : 1 + (i % 10) / 10,
      status: i === 7 ? null : 200,
      outcome: i === 7 ? ('error' as const) : ('ok' as const),
      t_s: i / 100,
    }));
    expect(thinSamples(samples, 2000).kept).toHaveLength(1000);
    const { kept, threshold_ms } = thinSamples(samples, 100);
    expect(kept.length).toBeLessThanOrEqual(120);
    expect(kept.some((s) => s.latency_ms === 900)).toBe(true);
    expect(kept.some((s) => s.outcome === 'error')).toBe(true);
    expect(threshold_ms.lookup).toBeGreaterThan(1);
  });

  it('writes the samples as CSV and reads them back', () => {
    const samples = [
      { type: 'lookup' as const, sent_at_ms: 1, latency_ms: 0.512, status: 200, outcome: 'ok' as const, t_s: 0.001 },
      { type: 'trade' as const, sent_at_ms: 2, latency_ms: 10000.2, status: null, outcome: 'error' as const, t_s: 12.5 },
    ];
    const csv = samplesCsv(samples);
    expect(csv).toBe('t_s,type,latency_ms,status,outcome\n0.001,lookup,0.512,200,ok\n12.5,trade,10000.2,,error\n');
    expect(parseSamplesCsv(csv).map(({ sent_at_ms: _ignored, ...rest }) => rest)).toEqual(samples.map(({ sent_at_ms: _ignored, ...rest }) => rest));
  });
});
