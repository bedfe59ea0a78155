import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appMain, ROOT, runNode, stripAnsi } from './support/process';

/**
 * `npm run bench:compare` as a developer runs it (the script behind it: the bench app's `compare`
 * command), here with this build as its own baseline: two real clusters side by side, one short
 * round. Figures are not checked (they are the tool's output, not a guarantee); their shape is.
 */
describe('npm run bench:compare', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'bench-compare-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const compare = (args: string[], timeoutMs = 15000) => runNode(appMain('bench'), ['compare', ...args, '--out', out], {}, timeoutMs);

  it('runs this build against itself: a row per round, the medians, and the record with both commits', async () => {
    const run = await compare(['--baseline', ROOT, '--rounds', '1', '--duration', '2', '--warmup', '0', '--connections', '2'], 100_000);
    expect(run.timedOut).toBe(false);
    // Warnings about the machine (other processes' CPU) may come; errors and refused trades may not.
    expect({ code: run.code, stderr: stripAnsi(run.stderr).split('\n').filter((l) => /error|not acknowledged/.test(l)) }).toEqual({ code: 0, stderr: [] });
    expect(run.stdout).toMatch(/^\| 1 \| [\d.]+ \/ [\d.]+ \| [\d.]+ \| \d+ % \|/m);
    expect(run.stdout).toMatch(/medians over 1 round\(s\), this build \/ the baseline: 1 connection p50 [\d.]+/);
    const files = readdirSync(out);
    expect(files).toEqual([expect.stringMatching(/^compare-.*\.json$/)]);
    const record = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
    expect(record).toMatchObject({ kind: 'compare', interrupted: false, error: null, baseline: { root: ROOT }, current: { root: ROOT } });
    expect(record.rounds).toHaveLength(1);
    expect(record.rounds[0].c1.pairs).toBeGreaterThan(0);
    expect(record.rounds[0].c1.non_2xx).toBe(0);
    expect(record.rounds[0].loaded.baseline_requests_per_s).toBeGreaterThan(0);
    expect(record.rounds[0].loaded.current_requests_per_s).toBeGreaterThan(0);
  });

  it('refuses a baseline that is not a built checkout, in one line and exit code 2, starting nothing', async () => {
    const run = await compare(['--baseline', out]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(`error: ${out} is not a checkout of this repository (no nest-cli.json)`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('asks for --baseline, and refuses a bad number, as usage errors (exit code 2)', async () => {
    const missing = await compare([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--baseline <dir>' not specified/);
    const bad = await compare(['--baseline', ROOT, '--rounds', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rounds.*must be an integer between 1 and 100/);
  });
});
