import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { monotonicNow } from '@app/common';
import { CatalogEnv } from '@app/contracts';
import { TradeRecord } from './trade-record.entity';

/** The cleanup's settings (from `IDEMPOTENCY_RETENTION_MS`, `IDEMPOTENCY_CLEANUP_*`). */
export interface RetentionSettings {
  retentionMs: number;
  intervalMs: number;
  batch: number;
}

/**
 * Forgets old idempotency keys: deletes trade records once both
 * - they are older than `IDEMPOTENCY_RETENTION_MS` (`created_at_ms`), so a key inside its window
 *   is never forgotten, and
 * - the order leader's reconciliation has gone past them (`seq` ≤ the highest `after` it has
 *   listed `GET /trades` from: everything up to it is in the order log), so an applied trade is
 *   never deleted before it has its order, even after a day without a leader.
 * Each run deletes batches of at most `IDEMPOTENCY_CLEANUP_BATCH` records, oldest first, one
 * statement each, a turn of the event loop apart, until none is left or half the interval has
 * gone; runs come every `IDEMPOTENCY_CLEANUP_INTERVAL_MS`. (One batch a run forgot 16.7 records a
 * second at the defaults, far fewer than a busy bazaar trades: the file grew without bound.) Stocks are not touched: a deleted record only
 * means its request id is unknown again (a new trade, should it ever come back).
 */
@Injectable()
export class TradeRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TradeRetentionService.name);
  private readonly settings: RetentionSettings;
  /** Highest catalog sequence number the order leader has reconciled through (in memory: 0 again after a restart until it asks). */
  private reconciledThrough = 0;
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    config: ConfigService<CatalogEnv, true>,
  ) {
    this.settings = {
      retentionMs: config.get('IDEMPOTENCY_RETENTION_MS', { infer: true }),
      intervalMs: config.get('IDEMPOTENCY_CLEANUP_INTERVAL_MS', { infer: true }),
      batch: config.get('IDEMPOTENCY_CLEANUP_BATCH', { infer: true }),
    };
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runScheduled(), this.settings.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The order leader listed applied trades after `after`: every trade up to it is in its log. */
  noteReconciled(after: number): void {
    if (after > this.reconciledThrough) this.reconciledThrough = after;
  }

  /** One bounded run at `now` (ms epoch); returns how many records it deleted. */
  async cleanupOnce(now = Date.now()): Promise<number> {
    const cutoff = now - this.settings.retentionMs;
    const through = this.reconciledThrough;
    if (through <= 0) return 0;
    const result = await this.dataSource
      .createQueryBuilder()
      .delete()
      .from(TradeRecord)
      .where(
        '"seq" IN (SELECT "seq" FROM "trades" WHERE "seq" <= :through AND "created_at_ms" <= :cutoff ORDER BY "seq" LIMIT :batch)',
        { through, cutoff, batch: this.settings.batch },
      )
      .execute();
    return result.affected ?? 0;
  }

  /**
   * One scheduled run: batches until the backlog is gone (a batch deletes fewer than it may) or
   * half the interval has passed; returns how many records it deleted. `now` gives each batch's time.
   */
  async cleanup(now: () => number = Date.now): Promise<number> {
    const started = monotonicNow();
    let total = 0;
    for (;;) {
      const deleted = await this.cleanupOnce(now());
      total += deleted;
      if (deleted < this.settings.batch || this.stopped || monotonicNow() - started >= this.settings.intervalMs / 2) return total;
      await nextTurn(); // requests go in between batches
    }
  }

  private async runScheduled(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const deleted = await this.cleanup();
      if (deleted > 0) this.logger.log(`forgot ${deleted} idempotency key(s) older than ${this.settings.retentionMs} ms`);
    } catch (err) {
      this.logger.warn(`idempotency key cleanup: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}

/**
 * The rule itself, for a record: forgettable once it is older than the retention at `now` and the
 * reconciliation has gone past it. (The DELETE above is this rule in SQL.)
 */
export function forgettable(
  record: { seq: number; createdAtMs: number },
  now: number,
  retentionMs: number,
  reconciledThrough: number,
): boolean {
  return record.seq <= reconciledThrough && now - record.createdAtMs >= retentionMs;
}
