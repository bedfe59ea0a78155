import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FrontendEnv } from '@app/contracts';
import { makeDataDir } from '@app/common/fs/data-dir';
import { lockForProcess } from '@app/common/fs/process-lock';

/** The epoch file could not be written: this election round fails (no 500; the heartbeat retries). */
export class EpochWriteError extends Error {
  override readonly name = 'EpochWriteError';
}

/** fsync of a file or a directory (opened read-only, as fsync on a directory needs). */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The highest epoch this front end has handed out, persisted (written to a temporary file,
 * fsynced, renamed, directory fsynced) before any replica hears of it, so a restarted front end never reuses one.
 * The file is this process's alone ({@link lockForProcess}): a second front end on the same data
 * directory does not start.
 */
@Injectable()
export class EpochStore implements OnModuleInit {
  private readonly file: string;
  private value: number;

  constructor(config: ConfigService<FrontendEnv, true>) {
    const dir = makeDataDir(config.get('DATA_DIR', { infer: true }));
    this.file = join(dir, 'frontend-epoch.json');
    this.value = this.read();
  }

  onModuleInit(): Promise<void> {
    return lockForProcess(this.file, 'epoch file');
  }

  get current(): number {
    return this.value;
  }

  /**
   * Returns a new epoch greater than every epoch seen so far, durably recorded: the temporary
   * file is written and fsynced, renamed over the old one, and the directory fsynced so that the
   * rename itself survives a power cut. A failed write (full disk, I/O error) throws an
   * {@link EpochWriteError} naming the file and leaves the epoch unchanged: no epoch is handed out
   * that is not on disk.
   */
  next(atLeastAbove: number): number {
    const epoch = Math.max(this.value, atLeastAbove) + 1;
    const tmp = `${this.file}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ epoch }));
      fsyncPath(tmp);
      renameSync(tmp, this.file);
      fsyncPath(dirname(this.file));
    } catch (err) {
      throw new EpochWriteError(`cannot record epoch ${epoch} in ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    this.value = epoch;
    return epoch;
  }

  private read(): number {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { epoch?: unknown };
      return typeof parsed.epoch === 'number' && Number.isSafeInteger(parsed.epoch) ? parsed.epoch : 0;
    } catch {
      return 0;
    }
  }
}
