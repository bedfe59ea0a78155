import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appMain, runNode, stripAnsi } from './support/process';

/**
 * `npm run bench:lab` as a developer runs it (the script behind it: the bench app's `lab`
 * command): one short round on a real cluster, the real client app run twice against it.
 * Figures are not checked (they are the tool's output, not a guarantee); their shape is, and
 * that both loads passed the client's own read-back of every order.
 */
describe('npm run bench:lab', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'bench-lab-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const lab = (args: string[], timeoutMs = 15000) => runNode(appMain('bench'), ['lab', ...args, '--out', out], {}, timeoutMs);

  it('runs a cold and a warm load on one fresh cluster: a row each, the medians, and the record', async () => {
    const run = await lab(['--rounds', '1', '--duration', '2'], 120_000);
    expect(run.timedOut).toBe(false);
    expect({ code: run.code, errors: stripAnsi(run.stderr).split('\n').filter((l) => /error/i.test(l)) }).toEqual({ code: 0, errors: [] });
    expect(run.stdout).toMatch(/^\| 1 \| cold \| \d+ \(\d+\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| yes \|$/m);
    expect(run.stdout).toMatch(/^\| 1 \| warm \| \d+ \(\d+\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| yes \|$/m);
    expect(run.stdout).toMatch(/target: the lab's trade p50 ≤ 10 ms — cold (met|not met), warm (met|not met)/);
    const files = readdirSync(out);
    expect(files).toEqual([expect.stringMatching(/^lab-.*\.json$/)]);
    const record = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
    expect(record).toMatchObject({ kind: 'lab', interrupted: false, error: null, options: { rounds: 1, durationS: 2, sessions: 5, p: 0.8, seed: 7 } });
    expect(record.rounds).toHaveLength(1);
    for (const phase of [record.rounds[0].cold, record.rounds[0].warm]) {
      expect(phase.passed).toBe(true);
      expect(phase.trades_ok).toBeGreaterThan(0);
      expect(Object.keys(phase.cpu_ms_per_trade).sort()).toEqual(['catalog', 'frontend', 'order-1', 'order-2', 'order-3']);
      // The front end's cache over the load: read, and lookups were made.
      expect(phase.cache).toEqual({ misses_per_trade: expect.any(Number), offers_taken_per_trade: expect.any(Number), hit_ratio: expect.any(Number) });
    }
    expect(record.cold_trade_p50_ms).toBeGreaterThan(0);
    expect(record.warm_trade_p50_ms).toBeGreaterThan(0);
  });

  it('compares a variant with the build as is: two clusters loaded at once, their rows, the ratios, and the record', async () => {
    // The cache off in the variant shows in its figures (nothing counted) and not in the baseline's (hits); the node option in its processes' command lines.
    // Two rounds: the second starts the variant's cluster first.
    const run = await lab(['--rounds', '2', '--duration', '2', '--variant-env', 'CACHE_ENABLED=false', '--variant-node-args=--max-semi-space-size=16'], 180_000);
    expect(run.timedOut).toBe(false);
    expect({ code: run.code, errors: stripAnsi(run.stderr).split('\n').filter((l) => /error/i.test(l)) }).toEqual({ code: 0, errors: [] });
    for (const n of [1, 2]) {
      for (const load of ['cold', 'warm']) {
        expect(run.stdout).toMatch(new RegExp(`^\\| ${n} \\| ${load} \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| yes \\|$`, 'm'));
      }
    }
    expect(run.stdout).toMatch(/variant ÷ baseline, medians of 2 round\(s\), both clusters loaded at once: cold trade p50 [\d.]+ \(rounds/);
    const files = readdirSync(out);
    expect(files).toEqual([expect.stringMatching(/^lab-pair-.*\.json$/)]);
    const record = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
    expect(record).toMatchObject({
      kind: 'lab-pair',
      interrupted: false,
      error: null,
      baseline: { env: {}, node_args: [] },
      variant: { env: { CACHE_ENABLED: 'false' }, node_args: ['--max-semi-space-size=16'] },
    });
    expect(record.rounds).toHaveLength(2);
    for (const round of record.rounds) {
      expect(round.baseline.command_line).not.toContain('--max-semi-space-size=16');
      expect(round.variant.command_line).toContain('--max-semi-space-size=16');
      for (const load of ['cold', 'warm']) {
        expect(round.baseline[load].passed).toBe(true);
        expect(round.variant[load].passed).toBe(true);
        expect(round.baseline[load].cache.hit_ratio).toBeGreaterThan(0);
        expect(round.variant[load].cache).toEqual({ misses_per_trade: 0, offers_taken_per_trade: 0, hit_ratio: null });
        expect(round.ratios[`${load}_trade_p50`]).toBeGreaterThan(0);
        expect(round.ratios[`${load}_cpu_per_trade`]).toBeGreaterThan(0);
      }
    }
    const coldRatios = record.rounds.map((r: { ratios: { cold_trade_p50: number } }) => r.ratios.cold_trade_p50);
    expect(record.summary.low.cold_trade_p50).toBe(Math.min(...coldRatios));
    expect(record.summary.high.cold_trade_p50).toBe(Math.max(...coldRatios));
  });

  it('refuses a bad option as a usage error (exit code 2), starting nothing', async () => {
    const bad = await lab(['--p', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--p.*must be a probability between 0 and 1/);
    const rounds = await lab(['--rounds', '0']);
    expect(rounds.code).toBe(2);
    expect(rounds.stderr).toMatch(/--rounds.*must be an integer between 1 and 100/);
    const env = await lab(['--variant-env', 'NOVALUE']);
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/--variant-env.*expected KEY=VALUE/);
    const args = await lab(['--variant-node-args=--stack-size 2000']);
    expect(args.code).toBe(2);
    expect(args.stderr).toMatch(/--variant-node-args.*"2000" is not one/);
    const baseline = await lab(['--baseline', join(out, 'nowhere')]);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toMatch(/nowhere is not a checkout of this repository/);
    expect(readdirSync(out)).toEqual([]);
  });
});
