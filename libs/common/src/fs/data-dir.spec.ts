import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirError, makeDataDir } from './data-dir';

describe('makeDataDir', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'data-dir-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes the directory and its missing parents, and returns it absolute; an existing one is used as it is', () => {
    const target = join(dir, 'a', 'b', 'data');
    expect(makeDataDir(target)).toBe(target);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(makeDataDir(target)).toBe(target);
  });

  it("makes the data directory its owner's alone (0700; the umask may only take away), its parents as usual", () => {
    const target = join(dir, 'p', 'data');
    makeDataDir(target);
    expect(statSync(target).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'p')).mode & 0o777).toBe(0o777 & ~process.umask());
  });

  it('names DATA_DIR and why, in one line, for a path that is a file or lies under one', () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(() => makeDataDir(file)).toThrow(new DataDirError(`DATA_DIR ${file}: cannot make or use this directory (${file} is not a directory)`));
    expect(() => makeDataDir(join(file, 'data'))).toThrow(new DataDirError(`DATA_DIR ${join(file, 'data')}: cannot make or use this directory (ENOTDIR)`));
  });

  it('fails at once under /proc, where a recursive mkdir never returns', () => {
    if (process.platform !== 'linux') return;
    expect(() => makeDataDir('/proc/bazaar-data/x')).toThrow(/^DATA_DIR \/proc\/bazaar-data\/x: cannot make or use this directory \(E[A-Z]+\)$/);
  });
});
