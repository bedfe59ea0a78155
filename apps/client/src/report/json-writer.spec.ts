import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareJsonPath, toJson, writeJsonReport } from './json-writer';

describe('json writer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'client-json-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes pretty JSON ending with a newline, creating missing directories', async () => {
    const path = join(dir, 'a', 'b', 'out.json');
    const written = await writeJsonReport(path, { passed: true, config: { seed: 1 } });
    expect(written).toBe(path);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(toJson({ passed: true, config: { seed: 1 } }));
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ passed: true, config: { seed: 1 } });
  });

  it('fails at once when the path is a directory (`--json results/`), not after the run', async () => {
    await mkdir(join(dir, 'results'));
    await expect(prepareJsonPath(join(dir, 'results'))).rejects.toThrow(/is a directory/);
    await expect(prepareJsonPath(`${join(dir, 'results')}/`)).rejects.toThrow(/is a directory/);
  });

  it('accepts an existing file, which is overwritten, and leaves no file behind for a new one', async () => {
    await writeFile(join(dir, 'out.json'), 'old');
    await expect(prepareJsonPath(join(dir, 'out.json'))).resolves.toBe(join(dir, 'out.json'));
    expect(await readFile(join(dir, 'out.json'), 'utf8')).toBe('old');
    await expect(prepareJsonPath(join(dir, 'new.json'))).resolves.toBe(join(dir, 'new.json'));
    expect(await readdir(dir)).toEqual(['out.json']);
  });

  it('fails at once where the file cannot be made, also for root, whom access() lets through (/proc)', async () => {
    // `load --json /proc/x.json` ran the whole load and failed on the write.
    await expect(prepareJsonPath('/proc/stock-bazaar-test.json')).rejects.toThrow(/ENOENT|EACCES|EROFS|EPERM/);
  });

  it('fails at once when a parent is a file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(prepareJsonPath(join(dir, 'file', 'out.json'))).rejects.toThrow(/is not a directory/);
  });
});
