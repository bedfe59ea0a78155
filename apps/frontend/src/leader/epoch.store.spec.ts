import { ConfigService } from '@nestjs/config';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrontendEnv } from '@app/contracts';
import { EpochStore, EpochWriteError } from './epoch.store';

function configFor(dir: string): ConfigService<FrontendEnv, true> {
  return { get: () => dir } as unknown as ConfigService<FrontendEnv, true>;
}

describe('EpochStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'epoch-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records each epoch it hands out, and a new store starts from it', () => {
    const store = new EpochStore(configFor(dir));
    expect(store.current).toBe(0);
    expect(store.next(0)).toBe(1);
    expect(store.next(7)).toBe(8);
    expect(JSON.parse(readFileSync(join(dir, 'frontend-epoch.json'), 'utf8'))).toEqual({ epoch: 8 });
    expect(existsSync(join(dir, 'frontend-epoch.json.tmp'))).toBe(false);
    expect(new EpochStore(configFor(dir)).next(0)).toBe(9);
  });

  it('throws an EpochWriteError naming the file when the write fails, and hands out nothing', () => {
    const store = new EpochStore(configFor(dir));
    store.next(0);
    mkdirSync(join(dir, 'frontend-epoch.json.tmp')); // the write of the temporary file fails with EISDIR
    let thrown: unknown;
    try {
      store.next(0);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(EpochWriteError);
    expect((thrown as Error).message).toContain(join(dir, 'frontend-epoch.json'));
    expect((thrown as Error).message).toContain('EISDIR');
    expect(store.current).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, 'frontend-epoch.json'), 'utf8'))).toEqual({ epoch: 1 });

    rmSync(join(dir, 'frontend-epoch.json.tmp'), { recursive: true });
    expect(store.next(0)).toBe(2); // the disk is back: the next round succeeds
  });
});
