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

  it('refuses a bad option as a usage error (exit code 2), starting nothing', async () => {
    const bad = await lab(['--p', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--p.*must be a probability between 0 and 1/);
    const rounds = await lab(['--rounds', '0']);
    expect(rounds.code).toBe(2);
    expect(rounds.stderr).toMatch(/--rounds.*must be an integer between 1 and 100/);
    expect(readdirSync(out)).toEqual([]);
  });
});
