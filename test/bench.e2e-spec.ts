import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appMain, runNode, stripAnsi } from './support/process';

/**
 * `npm run bench` as a developer runs it (the script behind it: the bench app's `bench`
 * command), cut short: the scenarios that issue 18's targets need, one 1-second round each, on a
 * real cluster and the real ceiling apps. Figures are not checked (they are the tool's output, not
 * a guarantee); that every target is judged from them, printed and recorded, is.
 */
describe('npm run bench', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'bench-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('judges each target from the run: a line each, met or NOT met, and the record', async () => {
    const only = 'trade-c1,trade,lookup-cached-c5,ceiling-adapter-c5';
    const run = await runNode(appMain('bench'), ['bench', '--only', only, '--runs', '1', '--duration', '1', '--warmup', '0', '--out', out], {}, 180_000);
    expect(run.timedOut).toBe(false);
    expect({ code: run.code, errors: stripAnsi(run.stderr).split('\n').filter((l) => /error/i.test(l)) }).toEqual({ code: 0, errors: [] });
    const targets = [
      /one trade at 1 connection \(trade-c1\), p50 ≤ 6 ms: [\d.]+ ms$/m,
      /trades at 10 connections ÷ the bare NestJS ceiling at 10, req\/s ≥ 0\.12: [\d.]+$/m,
      /CPU per acknowledged trade at 10 connections, all processes, ≤ 1\.5 ms: [\d.]+ ms$/m,
      /cached lookup p99 at 5 connections ÷ the bare app on the bazaar's adapter ≤ 1\.3: [\d.]+$/m,
      /cached lookup p99 at 5 connections ≤ 1 ms: [\d.]+ ms — p99 at 5 connections of the bare NestJS ceiling: [\d.]+ ms; the same app on the bazaar's adapter: [\d.]+ ms$/m,
    ];
    for (const line of targets) expect(run.stdout).toMatch(new RegExp(`^  (met    |NOT met)  ${line.source}`, 'm'));
    const files = readdirSync(out);
    expect(files).toEqual([expect.stringMatching(/^bench-.*\.json$/)]);
    const record = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
    expect(record).toMatchObject({ kind: 'bench', interrupted: false, error: null });
    expect(record.targets).toHaveLength(5);
    for (const t of record.targets) {
      expect(t).toEqual({
        target: expect.any(String),
        measured: expect.any(Number),
        unit: expect.stringMatching(/^(ms|ratio)$/),
        rounds: [t.measured],
        met: expect.any(Boolean),
        ...(t.target.endsWith('≤ 1 ms') ? { context: expect.stringContaining('the bare NestJS ceiling') } : {}),
      });
    }
  });

  it('measures trades with their invalidation pushes, also when no lookup scenario ran before them', async () => {
    // A front end that has looked nothing up holds no cache lease, and the catalog pushes only to
    // lease holders: the bench looks the traded stocks up first, as the lab's clients do.
    const run = await runNode(appMain('bench'), ['bench', '--only', 'trade-c1', '--runs', '1', '--duration', '1', '--warmup', '0', '--out', out], {}, 120_000);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/pushed no invalidation/);
    const files = readdirSync(out);
    const record = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
    const [trade] = record.scenarios.filter((s: { name: string }) => s.name === 'trade-c1');
    expect(trade.checks.per_run).toEqual([expect.objectContaining({ invalidations_per_trade: expect.any(Number) })]);
    expect(trade.checks.per_run[0].invalidations_per_trade).toBeGreaterThan(0.5);
  });
});
