import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Subject } from 'rxjs';
import { OrderEnv, ReplicaRefusal } from '@app/contracts';
import { monotonicNow, Unavailable } from '@app/common';

/** SQLite result codes that mean the disk (or the file on it) cannot take a write. */
const DISK_ERROR_CODES = new Set(['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_PROTOCOL']);

export function isDiskError(err: unknown): boolean {
  return DISK_ERROR_CODES.has(String((err as { code?: unknown } | null)?.code ?? ''));
}

/** A write of the order log failed on the disk: 503 `disk_failing`; the front end retries through another leader. */
export class DiskWriteFailed extends Unavailable {
  constructor(cause: Error) {
    super(`this replica's database cannot be written: ${cause.message}`, ReplicaRefusal.diskFailing);
  }
}

/**
 * Whether this replica's disk takes writes, learnt from the order log's own writes — never by a
 * query of its own, so that `/ping` answers at once however slow a commit is.
 *
 * - A write that fails with a disk error (full, I/O error, read-only…) marks the disk failing
 *   until a later write succeeds; {@link failed$} fires so that a leader steps down.
 * - A write still running after `DISK_STALL_MS` marks the disk stuck. Slower writes than usual,
 *   well under that, change nothing: a slow fsync is not a dead replica.
 */
@Injectable()
export class DiskHealthService {
  private readonly logger = new Logger(DiskHealthService.name);
  private readonly stallMs: number;
  /** Start times of the writes under way. */
  private readonly writing = new Set<number>();
  private failing?: { since: number; message: string };
  readonly failed$ = new Subject<string>();

  constructor(config: ConfigService<OrderEnv, true>) {
    this.stallMs = config.get('DISK_STALL_MS', { infer: true });
  }

  /** Runs one write of the log, recording how it went; a disk error is rethrown as {@link DiskWriteFailed}. */
  async track<T>(write: () => Promise<T>): Promise<T> {
    const started = monotonicNow();
    const token = started + Math.random(); // distinct entries for writes started in the same ms
    this.writing.add(token);
    try {
      const result = await write();
      if (this.failing) this.logger.log(`its database takes writes again (failed for ${monotonicNow() - this.failing.since} ms)`);
      this.failing = undefined;
      return result;
    } catch (err) {
      if (!isDiskError(err)) throw err;
      const message = (err as Error).message;
      if (!this.failing) {
        this.failing = { since: monotonicNow(), message };
        this.logger.error(`its database cannot be written: ${message}`);
      }
      this.failed$.next(message);
      throw new DiskWriteFailed(err as Error);
    } finally {
      this.writing.delete(token);
    }
  }

  get isFailing(): boolean {
    return this.failing !== undefined;
  }

  /** Why this replica must not lead or be proposed because of its disk; undefined when the disk is fine. */
  problem(now = monotonicNow()): string | undefined {
    if (this.failing) return `its database cannot be written: ${this.failing.message} (for ${now - this.failing.since} ms)`;
    const oldest = Math.min(...this.writing);
    if (now - oldest >= this.stallMs) return `a write of its database has not finished for ${Math.floor(now - oldest)} ms`;
    return undefined;
  }

  /** For `/health`: the disk's state. */
  describe(now = monotonicNow()): { writable: boolean; writes_in_flight: number; oldest_write_ms: number; problem?: string } {
    const oldest = this.writing.size ? Math.floor(now - Math.min(...this.writing)) : 0;
    const problem = this.problem(now);
    return { writable: !this.failing, writes_in_flight: this.writing.size, oldest_write_ms: oldest, ...(problem ? { problem } : {}) };
  }
}
