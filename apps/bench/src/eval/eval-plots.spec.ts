import type { SweepRow } from '@app/loadgen';
import { failureSpec, hitRatioSpec, latencyPoints, latencySpec, pAxis, thinSamples } from './eval-plots';
import { renderSvg } from '../common/plot';
import { aggregateRuns } from './repeats';
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

  it('ends the p axis at the largest p measured, with a tick at every p', () => {
    const rows = [0, 0.2, 0.4, 0.6, 0.8].flatMap((p) => [row(p, 'on'), row(p, 'off')]);
    expect(pAxis(rows)).toEqual({ domain: [0, 0.8], values: [0, 0.2, 0.4, 0.6, 0.8] });
    expect(pAxis([row(0.5, 'on'), row(0.1, 'on')])).toEqual({ domain: [0, 0.5], values: [0.1, 0.5] });
    expect(pAxis([row(0, 'on')]).domain).toEqual([0, 1]); // p = 0 alone: still an axis
    const latency = latencySpec(rows, 'sub') as unknown as { spec: { layer: { encoding: { x: { scale: { domain: number[] }; axis: { values: number[] } } } }[] } };
    for (const layer of latency.spec.layer) {
      expect(layer.encoding.x.scale.domain).toEqual([0, 0.8]);
      expect(layer.encoding.x.axis.values).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    }
    const hit = hitRatioSpec(rows, 'sub') as unknown as { encoding: { x: { scale: { domain: number[] } } } };
    expect(hit.encoding.x.scale.domain).toEqual([0, 0.8]);
  });

  it('draws the median of the repeats as the point and the lowest to highest run as a bar', () => {
    const runs = [30, 36, 70].map((ms, repeat) => ({ ...row(0.2, 'on', { trade_mean_ms: ms, hit_ratio: [0.82, 0.8, 0.81][repeat] }), repeat }));
    const rows = aggregateRuns(runs);
    const mean = latencyPoints(rows).find((pt) => pt.type === 'trade' && pt.stat === 'mean');
    expect(mean).toMatchObject({ p: 0.2, ms: 36, lo: 30, hi: 70, runs: 3 });
    // A row without repeats (an older results.json) has no bar.
    expect(latencyPoints([row(0.2, 'on')]).every((pt) => pt.lo === undefined && pt.hi === undefined)).toBe(true);

    const latency = latencySpec(rows, 'sub') as unknown as { spec: { layer: { mark: { type: string }; encoding: { y: { field: string }; y2?: { field: string } } }[] } };
    const bar = latency.spec.layer.find((l) => l.mark.type === 'errorbar');
    expect(bar?.encoding.y.field).toBe('lo');
    expect(bar?.encoding.y2?.field).toBe('hi');

    const hit = hitRatioSpec(rows, 'sub') as unknown as { data: { values: unknown[] }; layer: { mark: { type: string } }[] };
    expect(hit.data.values).toEqual([{ p: 0.2, hit_ratio: 0.81, lo: 0.8, hi: 0.82 }]);
    expect(hit.layer.map((l) => l.mark.type)).toContain('errorbar');
  });

  it('labels every marker line of the failure run: each fault, and each replica ready again', () => {
    const faults = [
      { kind: 'leader killed' as const, label: 'leader killed (order-3)', replica: 3, t_s: 2 },
      { kind: 'leader restarted' as const, label: 'leader restarted (order-3)', replica: 3, t_s: 4, ready_t_s: 5 },
      { kind: 'follower killed' as const, label: 'follower killed (order-1)', replica: 1, t_s: 6 },
      { kind: 'follower restarted' as const, label: 'follower restarted (order-1)', replica: 1, t_s: 8, ready_t_s: 9 },
    ];
    type Layer = { data: { values: { t: number; label: string; row: number }[] }; mark: { type: string }; transform?: { filter: string }[] };
    const spec = failureSpec([], faults, 10, 'sub') as unknown as { layer: Layer[] };
    const ruled = spec.layer.filter((l) => l.mark.type === 'rule').flatMap((l) => l.data.values);
    const texts = spec.layer.filter((l) => l.mark.type === 'text');
    // Every text layer shows the rows of its line (row 0 or 1) of some rules' data.
    const labelled = texts.flatMap((l) => {
      const row = Number(/datum\.row == (\d)/.exec(l.transform?.[0].filter ?? '')?.[1]);
      return l.data.values.filter((v) => v.row === row);
    });
    expect(ruled).toHaveLength(6);
    expect(labelled.map((v) => v.t).sort()).toEqual(ruled.map((v) => v.t).sort());
    expect(labelled.map((v) => v.label)).toEqual(expect.arrayContaining(['order-3 ready again', 'order-1 ready again', 'leader killed (order-3)']));
  });

  it('renders the plots to SVG with the spread, the axis and the labels', async () => {
    const runs = [0, 0.4, 0.8].flatMap((p) => [0, 1, 2].flatMap((repeat) => [row(p, 'on', { lookup_mean_ms: 1 + repeat }), row(p, 'off')].map((r) => ({ ...r, repeat }))));
    const svg = await renderSvg(latencySpec(aggregateRuns(runs), 'sub'));
    expect(svg).toContain('<svg');
    expect(svg).toContain("X-axis titled 'p' for a linear scale with values from 0.0 to 0.8");
    const faults = [{ kind: 'leader restarted' as const, label: 'leader restarted (order-3)', replica: 3, t_s: 4, ready_t_s: 5 }];
    const failure = await renderSvg(failureSpec([{ type: 'trade', sent_at_ms: 0, latency_ms: 3, status: 200, outcome: 'ok', t_s: 1 }], faults, 10, 'sub'));
    expect(failure).toContain('order-3 ready again');
  });
});
