import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineProblems } from './baseline';

describe('baselineProblems', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'compare-spec-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory that is not a checkout of the bazaar', () => {
    expect(baselineProblems(dir)).toEqual([`${dir} is not a checkout of this repository (no nest-cli.json)`]);
  });

  it('names the missing dependencies and every app not built', () => {
    writeFileSync(join(dir, 'nest-cli.json'), '{}');
    mkdirSync(join(dir, 'dist', 'apps', 'order', 'src'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'apps', 'order', 'src', 'main.js'), '');
    const problems = baselineProblems(dir);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/has no node_modules: run npm ci there/);
    expect(problems.slice(1)).toEqual([`${dir} has no build of catalog: run npm run build there`, `${dir} has no build of frontend: run npm run build there`]);
  });

  it('accepts a built checkout with its dependencies', () => {
    writeFileSync(join(dir, 'nest-cli.json'), '{}');
    mkdirSync(join(dir, 'node_modules'));
    for (const app of ['catalog', 'order', 'frontend']) {
      mkdirSync(join(dir, 'dist', 'apps', app, 'src'), { recursive: true });
      writeFileSync(join(dir, 'dist', 'apps', app, 'src', 'main.js'), '');
    }
    expect(baselineProblems(dir)).toEqual([]);
  });
});
