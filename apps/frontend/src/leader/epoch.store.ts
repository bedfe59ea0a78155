import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FrontendEnv } from '@app/contracts';

/**
 * The highest epoch this front end has handed out, persisted (written to a temporary file,
 * fsynced, renamed) before any replica hears of it, so a restarted front end never reuses one.
 */
@Injectable()
export class EpochStore {
  private readonly file: string;
  private value: number;

  constructor(config: ConfigService<FrontendEnv, true>) {
    const dir = resolve(config.get('DATA_DIR', { infer: true }));
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'frontend-epoch.json');
    this.value = this.read();
  }

  get current(): number {
    return this.value;
  }

  /** Returns a new epoch greater than every epoch seen so far, durably recorded. */
  next(atLeastAbove: number): number {
    const epoch = Math.max(this.value, atLeastAbove) + 1;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ epoch }));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
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
