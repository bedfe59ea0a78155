import type { LoadProgress } from '@app/loadgen';
import { createProgressView, formatProgressLine } from './progress';

const snapshot = (over: Partial<LoadProgress>): LoadProgress => ({
  phase: 'load',
  elapsed_s: 2,
  iterations_done: 250,
  iterations_total: 500,
  duration_s: null,
  requests: 800,
  answered: 800,
  errors: 1,
  orders: 61,
  checked: 0,
  to_check: 0,
  ...over,
});

describe('formatProgressLine', () => {
  it('shows iterations, rate, errors and orders during the load phase', () => {
    expect(formatProgressLine(snapshot({}))).toBe('load: 250/500 iterations (50%), 2.0 s, 400 req/s, 1 errors, 61 orders');
  });

  it('shows time against the duration for a timed run', () => {
    expect(formatProgressLine(snapshot({ iterations_total: null, duration_s: 8, elapsed_s: 2 }))).toBe(
      'load: 250 iterations, 2/8 s (25%), 2.0 s, 400 req/s, 1 errors, 61 orders',
    );
  });

  it('counts only answered requests in req/s: refused connections are errors, not throughput', () => {
    expect(formatProgressLine(snapshot({ requests: 900, answered: 100, errors: 800 }))).toBe(
      'load: 250/500 iterations (50%), 2.0 s, 50 req/s, 800 errors, 61 orders',
    );
  });

  it('shows the read-back during the check phase', () => {
    expect(formatProgressLine(snapshot({ phase: 'check', checked: 10, to_check: 61 }))).toBe('check: 10/61 orders read back, 1 errors');
  });
});

describe('plain progress (stderr not a terminal)', () => {
  it('prints a line every interval, announces the check, and nothing at the end', () => {
    let now = 0;
    const lines: string[] = [];
    const view = createProgressView({ write: (t) => lines.push(t), plainIntervalMs: 5000, now: () => now });
    view.update(snapshot({ iterations_done: 0 }));
    now = 1000;
    view.update(snapshot({ iterations_done: 10 }));
    expect(lines).toEqual([]);
    now = 5000;
    view.update(snapshot({ iterations_done: 100 }));
    now = 6000;
    view.update(snapshot({ iterations_done: 120 }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^load: 100\/500 iterations/);
    view.update(snapshot({ phase: 'check', to_check: 61 }));
    view.update(snapshot({ phase: 'done', checked: 61, to_check: 61 }));
    view.stop();
    expect(lines).toEqual([expect.stringMatching(/^load:/), 'check: 0/61 orders read back, 1 errors\n']);
  });
});
