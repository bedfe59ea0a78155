import { jest } from '@jest/globals';
import { monotonicNow } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { OrderEnv, validateEnv } from '@app/contracts';
import { DiskHealthService, DiskWriteFailed } from './disk-health.service';

const sqliteError = (code: string) => Object.assign(new Error(`${code}: database or disk is full`), { code });

function disk(stallMs = 1000): DiskHealthService {
  const config = new ConfigService(validateEnv(OrderEnv, { DISK_STALL_MS: String(stallMs) }));
  return new DiskHealthService(config as unknown as ConfigService<OrderEnv, true>);
}

describe('DiskHealthService', () => {
  it('a disk error fails the disk (503 disk_failing, failed$ fires) until a later write succeeds', async () => {
    const d = disk();
    const heard: string[] = [];
    d.failed$.subscribe((m) => heard.push(m));
    await expect(d.track(() => Promise.reject(sqliteError('SQLITE_FULL')))).rejects.toBeInstanceOf(DiskWriteFailed);
    await expect(d.track(() => Promise.reject(sqliteError('SQLITE_IOERR')))).rejects.toMatchObject({ status: 503, code: 'disk_failing' });
    expect(heard).toHaveLength(2);
    expect(d.problem()).toMatch(/^its database cannot be written: SQLITE_FULL/);
    expect(d.describe()).toMatchObject({ writable: false });
    await expect(d.track(async () => 'ok')).resolves.toBe('ok');
    expect(d.problem()).toBeUndefined();
    expect(d.describe()).toEqual({ writable: true, writes_in_flight: 0, oldest_write_ms: 0 });
  });

  it('other errors (a constraint, a bug) pass through unchanged and say nothing about the disk', async () => {
    const d = disk();
    const constraint = sqliteError('SQLITE_CONSTRAINT');
    await expect(d.track(() => Promise.reject(constraint))).rejects.toBe(constraint);
    expect(d.isFailing).toBe(false);
  });

  it('measures a write on the monotonic clock: the wall clock set forward an hour does not make a running write stuck', async () => {
    const d = disk(1000);
    let finish!: () => void;
    const write = d.track(() => new Promise<void>((r) => (finish = r)));
    const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    try {
      expect(d.problem()).toBeUndefined();
      expect(d.describe()).toMatchObject({ writes_in_flight: 1, oldest_write_ms: expect.any(Number) });
      expect(d.describe().oldest_write_ms).toBeLessThan(1000);
    } finally {
      wall.mockRestore();
    }
    finish();
    await write;
  });

  it('a slow write is fine; one still running after DISK_STALL_MS is a stuck disk', async () => {
    const d = disk(1000);
    let finish!: () => void;
    const write = d.track(() => new Promise<void>((r) => (finish = r)));
    const started = monotonicNow();
    expect(d.problem(started + 999)).toBeUndefined();
    expect(d.problem(started + 1500)).toMatch(/^a write of its database has not finished for 1[45]\d\d ms$/);
    expect(d.describe(started + 1500)).toMatchObject({ writable: true, writes_in_flight: 1 });
    finish();
    await write;
    expect(d.problem(started + 5000)).toBeUndefined();
  });
});
