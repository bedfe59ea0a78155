import { type LoadResult, renderTable, type RequestStats } from '@app/loadgen';
import { formatLoadReport, formatRequestTable } from './load-report';

const stats = (count: number, errors: number, ms: number | null, rps: number): RequestStats => ({
  count,
  errors,
  latency_ms:
    ms === null
      ? { count: 0, mean_ms: null, p50_ms: null, p90_ms: null, p99_ms: null, max_ms: null }
      : { count, mean_ms: ms, p50_ms: ms * 0.9, p90_ms: ms * 2, p99_ms: ms * 4, max_ms: ms * 10 },
  throughput_rps: rps,
});

function result(overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    version: 1,
    config: {
      url: 'http://127.0.0.1:30001',
      sessions: 5,
      p: 0.5,
      iterations: 100,
      duration_s: null,
      seed: 42,
      timeout_ms: 10000,
      mixed_case: false,
      stocks: ['Stock1'],
      started_at: '2024-01-02T03:04:05.000Z',
    },
    requests: { lookup: stats(500, 0, 1.5, 250), trade: stats(240, 0, 3, 120), order_check: stats(110, 0, 1, 550) },
    load_total: stats(740, 0, 2, 370),
    trades: { attempted: 240, ok: 110, refused: 130, errors: 0, resent: 0, skipped_sold_out: 4 },
    consistency: { recorded: 110, checked: 110, matched: 110, mismatches: 0, missing: 0, duplicates: 0, unchecked: 0, details: [] },
    errors: { total: 0, by_cause: {} },
    iterations_completed: 500,
    interrupted: false,
    timing: { finished_at: '2024-01-02T03:04:07.200Z', load_s: 2, check_s: 0.2, wall_s: 2.2 },
    passed: true,
    ...overrides,
  };
}

describe('renderTable', () => {
  it('aligns columns, right or left, with no trailing spaces', () => {
    expect(renderTable(['name', 'n'], [['a', '1'], ['long name', '100']], ['left', 'right'])).toBe(
      ['name         n', 'a            1', 'long name  100'].join('\n'),
    );
  });
});

describe('formatRequestTable', () => {
  it('has one row per request type plus lookups and trades together, in milliseconds', () => {
    const lines = formatRequestTable(result()).split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['request', 'count', 'errors', 'mean', 'ms', 'p50', 'ms', 'p90', 'ms', 'p99', 'ms', 'max', 'ms', 'req/s']);
    expect(lines[1].split(/\s+/)).toEqual(['lookup', '500', '0', '1.50', '1.35', '3.00', '6.00', '15.00', '250.0']);
    expect(lines[2].split(/\s+/)).toEqual(['trade', '240', '0', '3.00', '2.70', '6.00', '12.00', '30.00', '120.0']);
    expect(lines[3].split(/\s+/)).toEqual(['lookup+trade', '740', '0', '2.00', '1.80', '4.00', '8.00', '20.00', '370.0']);
    expect(lines[4].split(/\s+/)).toEqual(['order-check', '110', '0', '1.00', '0.90', '2.00', '4.00', '10.00', '550.0']);
    // Every row is as wide as the header: the columns line up.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('shows - for a request type that was never sent', () => {
    const table = formatRequestTable(result({ requests: { lookup: stats(5, 0, 1, 1), trade: stats(0, 0, null, 0), order_check: stats(0, 0, null, 0) } }));
    expect(table.split('\n')[2].split(/\s+/)).toEqual(['trade', '0', '0', '-', '-', '-', '-', '-', '0.0']);
  });
});

describe('formatLoadReport', () => {
  it('describes the run, the trades, the check, the wall time and PASS', () => {
    const text = formatLoadReport(result());
    expect(text).toContain('Load run against http://127.0.0.1:30001: 5 sessions, p=0.5, 100 iterations/session, seed 42');
    expect(text).toContain('240 attempted, 110 ok, 130 refused (409), 0 errors; 4 lookups found the stock sold out');
    expect(text).toContain('110 orders recorded, 110 checked, 110 matched, 0 mismatches, 0 missing');
    expect(text).toMatch(/wall time\s+2\.20 s \(load 2\.00 s, check 0\.20 s\)/);
    expect(text).not.toContain('errors by cause');
    expect(text.trimEnd().split('\n').pop()).toBe('result: PASS');
  });

  it('describes a timed run', () => {
    const r = result();
    r.config = { ...r.config, iterations: null, duration_s: 30 };
    expect(formatLoadReport(r)).toContain('5 sessions, p=0.5, 30 s, seed 42');
  });

  it('lists error causes (most frequent first), order problems and FAIL', () => {
    const text = formatLoadReport(
      result({
        errors: { total: 4, by_cause: { 'lookup: ECONNREFUSED': 1, 'trade: HTTP 503 No order replica can take it': 3 } },
        consistency: {
          recorded: 3,
          checked: 2,
          matched: 0,
          mismatches: 1,
          missing: 1,
          duplicates: 0,
          unchecked: 1,
          details: [
            {
              order_no: 7,
              problem: 'mismatch',
              sent: { stock_name: 'Stock1', trade_type: 'Buy', quantity: 2 },
              got: { order_no: 7, stock_name: 'Stock1', trade_type: 'buy', quantity: 2 },
              fields: ['trade_type'],
            },
            { order_no: 8, problem: 'missing', sent: { stock_name: 'Stock2', trade_type: 'sell', quantity: 1 } },
            { order_no: 9, problem: 'unchecked', sent: { stock_name: 'Stock3', trade_type: 'buy', quantity: 4 }, reason: 'timeout after 10000 ms' },
          ],
        },
        interrupted: true,
        passed: false,
      }),
    );
    const causes = text.slice(text.indexOf('errors by cause:')).split('\n').slice(1, 3);
    expect(causes).toEqual(['       3  trade: HTTP 503 No order replica can take it', '       1  lookup: ECONNREFUSED']);
    expect(text).toContain('1 mismatch, 1 missing, 1 could not be read back');
    expect(text).toContain('order 7: sent Buy 2 Stock1, stored buy 2 Stock1 (order 7) — trade_type differs');
    expect(text).toContain('order 8: sent sell 1 Stock2, acknowledged, but not found');
    expect(text).toContain('order 9: sent buy 4 Stock3, could not be read back (timeout after 10000 ms)');
    expect(text).toContain('iterations   500 (interrupted)');
    expect(text.trimEnd().split('\n').pop()).toBe('result: FAIL (interrupted)');
  });

  it('says what req/s counts, and how long the sessions backed off when they had to', () => {
    expect(formatLoadReport(result())).toContain('req/s counts answered requests (any HTTP status)');
    expect(formatLoadReport(result({ backoff: { waits: 0, waited_s: 0 } }))).not.toContain('backoff');
    const text = formatLoadReport(result({ backoff: { waits: 23, waited_s: 19.45 } }));
    expect(text).toMatch(/backoff\s+sessions waited 23 times \(19\.45 s in all\) after requests that got no answer/);
  });
});
