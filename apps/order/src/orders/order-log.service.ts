import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectRepository } from '@nestjs/typeorm';
import { Mutex } from 'async-mutex';
import { Subject } from 'rxjs';
import { DataSource, MoreThanOrEqual, Repository } from 'typeorm';
import {
  checksumHolds,
  ChecksummedOrder,
  IdempotencyRefusal,
  KEY_REUSED_STATUS,
  keyReusedMessage,
  OrderEnv,
  OrderInfo,
  orderChecksum,
  OrderRecordDto,
  ReplicaRefusal,
  ReplicaRole,
  sameTradeRequest,
} from '@app/contracts';
import { DomainError, execTransaction, InvalidInput, monotonicNow, queryRows, sql, sqlLiteral, Unavailable } from '@app/common';
import { DiskHealthService } from './disk-health.service';
import { Order } from './order.entity';
import { LogKeyFilter } from './log-key-filter';
import { ReplicaMeta } from './replica-meta.entity';

/**
 * `voted_for`: the candidate granted `epoch`; `leader`: the replica known to lead it;
 * `must_compare`: 1 once this log was found to differ from a peer's below its commit point, until
 * a comparison finds it matching (see RecoveryService).
 */
export type MetaKey = 'epoch' | 'voted_for' | 'leader' | 'commit_no' | 'reconciled_seq' | 'must_compare' | 'led_epoch' | 'rejoining';

export interface LogPosition {
  order_no: number;
  epoch: number;
}

export type NewOrder = Omit<OrderRecordDto, 'order_no'>;

/**
 * Most recent entries kept in memory (see {@link OrderLogService.tail}): at least this many, and
 * at most twice as many — trimmed back once it doubles, not by one entry per append (removing from
 * the front of a 4096-entry array moves it all: 10–14 µs per append, against well under 1 µs so).
 */
const TAIL_SIZE = 4096;
/** While the disk fails, how often a small write checks whether it takes writes again. */
const DISK_PROBE_MS = 1000;
/** Entries read per query while the key filter is filled from the log. */
const KEY_SCAN_PAGE = 5000;
/** After a failed fill of the key filter, when it is tried again (lookups query the database meanwhile). */
const KEY_FILL_RETRY_MS = 5000;

/**
 * Something asked to drop or replace an entry at or below the commit point. Committed entries
 * are on a majority and were acknowledged: they are never dropped, so this replica's log (or the
 * source it compared with) is damaged. Refused with 503; the replica says so at error level.
 */
export class CommittedEntryConflict extends Unavailable {
  constructor(
    readonly orderNo: number,
    commitNo: number,
    detail = '',
  ) {
    super(`order ${orderNo} is committed (commit point ${commitNo}) and cannot be replaced or dropped${detail}`, ReplicaRefusal.notReady);
  }
}

/**
 * An entry read from this replica's file does not match its checksum (see orderChecksum): the file
 * was changed or damaged on disk after the entry was written. The entry is not served (503
 * `not_ready`); the replica puts it back, from the copy it holds in memory or from a peer's (see
 * RecoveryService).
 */
export class DamagedEntry extends Unavailable {
  constructor(
    readonly orderNo: number,
    dbFile: string,
  ) {
    super(`order ${orderNo} in ${dbFile} does not match its checksum (changed or damaged on disk): it is not served until it is repaired from its peers`, ReplicaRefusal.notReady);
  }
}

/**
 * The replica's order log and its persisted metadata, in its own SQLite file.
 *
 * Every write goes through {@link exclusive}: one writer at a time, so "read the last number,
 * then append" and "compare, truncate, apply" are never interleaved. Reads need no lock.
 * The last position, the metadata and the newest entries are cached in memory; they change only
 * under the lock, after the database has.
 */
@Injectable()
export class OrderLogService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OrderLogService.name);
  private readonly lock = new Mutex();
  private readonly commitDelayMs: number;
  private probing?: NodeJS.Timeout;
  private last: LogPosition = { order_no: 0, epoch: 0 };
  private readonly meta = new Map<MetaKey, number>();
  /**
   * The newest entries, consecutive and ending at the last one (or empty, after a start): what
   * replication pushes and followers compare against, served without a query.
   */
  private tail: OrderRecordDto[] = [];
  private loaded?: Promise<void>;
  /** Which request ids and keys the log certainly lacks: most key lookups need no query. */
  private readonly keys = new LogKeyFilter();
  private filling?: Promise<void>;
  private fillRetry?: NodeJS.Timeout;
  private destroyed = false;
  /** The last number on disk: below {@link last} while a leader's new entries are being written (see {@link appendNew}). */
  private durableNo = 0;
  /**
   * A leader's new entries: `published` once numbered (replication sends them while they are
   * written), `written` once on disk (this replica's own copy counts towards the commit point).
   */
  readonly leaderAppends$ = new Subject<'published' | 'written'>();
  /** A leader's published entries could not be written: it must not number anything again in this epoch. */
  readonly unwritten$ = new Subject<string>();
  /** Entries found not to match their checksum, not repaired yet (see {@link DamagedEntry}). */
  private readonly damaged = new Set<number>();
  /** An entry was found not to match its checksum, for the first time (its number). */
  readonly damaged$ = new Subject<number>();
  /** See {@link vouchedThrough}. */
  private vouched = 0;
  /** Whether {@link verifyChecksums} has run since start (until then {@link vouchedThrough} is 0). */
  private checkedSinceStart = false;
  /** How long its last run took. */
  private checkTookMs = 0;

  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    @InjectRepository(ReplicaMeta) private readonly metaRepo: Repository<ReplicaMeta>,
    private readonly dataSource: DataSource,
    private readonly disk: DiskHealthService,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.commitDelayMs = config.get('ORDER_COMMIT_DELAY_MS', { infer: true });
    if (this.commitDelayMs > 0) this.logger.warn(`every write of the order log waits ${this.commitDelayMs} ms before it commits (ORDER_COMMIT_DELAY_MS, tests only)`);
  }

  async onModuleInit(): Promise<void> {
    this.disk.failed$.subscribe(() => this.probeUntilWritable());
    await this.load();
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    clearInterval(this.probing);
    clearTimeout(this.fillRetry);
  }

  /** Every write of the log: slowed by ORDER_COMMIT_DELAY_MS (tests), watched by the disk's health. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.disk.track(async () => {
      if (this.commitDelayMs > 0) await sleep(this.commitDelayMs);
      return fn();
    });
  }

  /** While the disk fails, a small write every second finds out when it takes writes again (and clears the failure). */
  private probeUntilWritable(): void {
    if (this.probing) return;
    this.probing = setInterval(() => {
      if (!this.disk.isFailing) {
        clearInterval(this.probing);
        this.probing = undefined;
        return;
      }
      const probe = sql`INSERT INTO "replica_meta" ("key", "value") VALUES ${[['disk_probe', Date.now()]]} ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"`;
      void this.exclusive(() => this.write(() => execTransaction(this.dataSource, [probe]))).catch(() => undefined);
    }, DISK_PROBE_MS);
  }

  /**
   * Fills a key filter from the log, a page of entries per query, beside the trades (see
   * {@link LogKeyFilter}); after the check at start ({@link verifyChecksums}), and again, larger,
   * when the one in use is overfull. Resolves once it is in use, or once it failed (it is tried
   * again later).
   */
  fillKeyFilter(): Promise<void> {
    this.filling ??= (async () => {
      const started = monotonicNow();
      // Begun under the lock, with no write in flight: each entry is on disk for the scan (up to the
      // last one now), or added as it is written.
      const [filter, through] = await this.exclusive(async () => [this.keys.begin(2 * this.last.order_no), this.last.order_no] as const);
      try {
        let entries = 0;
        for (let after = 0; after < through; ) {
          const page = await queryRows<Pick<OrderRow, 'order_no' | 'request_id' | 'idempotency_key'>>(
            this.dataSource,
            `SELECT "order_no", "request_id", "idempotency_key" FROM "orders" WHERE "order_no" > ${sqlLiteral(after)} AND "order_no" <= ${sqlLiteral(through)} ORDER BY "order_no" LIMIT ${KEY_SCAN_PAGE}`,
          );
          for (const row of page) filter.addEntry(row.request_id, row.idempotency_key);
          entries += page.length;
          if (page.length < KEY_SCAN_PAGE) break;
          after = page[page.length - 1].order_no;
        }
        this.keys.finish(filter);
        this.logger.log(`key filter filled from ${entries} entries in ${monotonicNow() - started} ms (room for ${filter.capacity} keys)`);
      } catch (err) {
        this.keys.abandon(filter);
        if (this.destroyed) return;
        this.logger.warn(`could not fill the key filter (key lookups query the database meanwhile; again in ${KEY_FILL_RETRY_MS} ms): ${(err as Error).message}`);
        this.fillRetry = setTimeout(() => void this.fillKeyFilter(), KEY_FILL_RETRY_MS);
      } finally {
        this.filling = undefined;
      }
    })();
    return this.filling;
  }

  /** True once key lookups are answered from memory when the log lacks the key (see {@link LogKeyFilter}). */
  get keyFilterReady(): boolean {
    return this.keys.ready;
  }

  /** False: no entry has this request id or client key, known from memory. True: one may (see {@link newestByKeys}). */
  mayHoldKey(value: string): boolean {
    return this.keys.mayHold(value);
  }

  /** Reads the last position and the metadata, once (services that start from them await it too). */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      const [tail] = await this.orders.find({ order: { orderNo: 'DESC' }, take: 1 });
      this.last = tail ? { order_no: tail.orderNo, epoch: tail.epoch } : { order_no: 0, epoch: 0 };
      this.durableNo = this.last.order_no;
      for (const row of await this.metaRepo.find()) this.meta.set(row.key as MetaKey, row.value);
    })();
    return this.loaded;
  }

  /** The SQLite file that holds this log. */
  get dbFile(): string {
    return String(this.dataSource.options.database);
  }

  /** Runs `fn` as the only writer of the log. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.runExclusive(fn);
  }

  /** The last entry: numbered and sent, though a leader may still be writing it (see {@link durableLastNo}). */
  lastPosition(): LogPosition {
    return { ...this.last };
  }

  /** The last number this replica holds on disk (what counts as its own copy towards the commit point). */
  durableLastNo(): number {
    return this.durableNo;
  }

  getMeta(key: MetaKey): number {
    return this.meta.get(key) ?? 0;
  }

  /** Persists metadata as the only writer. */
  updateMeta(values: Partial<Record<MetaKey, number>>): Promise<void> {
    return this.exclusive(() => this.setMeta(values));
  }

  /** Persists metadata; the caller holds the lock. */
  private async setMeta(values: Partial<Record<MetaKey, number>>): Promise<void> {
    const changed = Object.entries(values).filter(([k, v]) => this.meta.get(k as MetaKey) !== v);
    if (changed.length === 0) return;
    await this.write(() =>
      this.dataSource.manager.upsert(
        ReplicaMeta,
        changed.map(([key, value]) => ({ key, value: value as number })),
        ['key'],
      ),
    );
    for (const [k, v] of changed) this.meta.set(k as MetaKey, v as number);
  }

  async find(orderNo: number): Promise<OrderRecordDto | null> {
    const cached = this.fromTail(orderNo, 1);
    if (cached) return cached[0] ?? null;
    const row = await this.orders.findOneBy({ orderNo });
    return row ? this.intact([toRecord(row)])[0] : null;
  }

  /**
   * Entries read from the file, each checked against its checksum: one that does not match is
   * noted as damaged ({@link damaged$}) and the read fails with {@link DamagedEntry}. So is one
   * that has lost its checksum since the replica vouched for it ({@link vouchedThrough}): its
   * file was changed while it runs, and its status still vouches for the entry. (The tail in
   * memory is not checked: it holds what was written, checked on its way in.)
   */
  private intact<T extends ChecksummedOrder & { checksum?: string | null }>(records: T[]): T[] {
    const damaged = records.filter((r) => this.isDamaged(r));
    if (damaged.length === 0) return records;
    for (const r of damaged) this.noteDamaged(r.order_no);
    throw new DamagedEntry(damaged[0].order_no, this.dbFile);
  }

  /**
   * A row read from the file that must not be served: it does not match its checksum, it lost its
   * checksum after the replica vouched for it, or it was found so before and not put back yet (a
   * check at start since then takes a row without a checksum for one written before checksums).
   */
  private isDamaged(row: ChecksummedOrder & { checksum?: string | null }): boolean {
    return !checksumHolds(row) || (row.checksum == null && (row.order_no <= this.vouched || this.damaged.has(row.order_no)));
  }

  private noteDamaged(orderNo: number): void {
    if (this.damaged.has(orderNo)) return;
    this.damaged.add(orderNo);
    this.logger.error(`order ${orderNo} in ${this.dbFile} does not match its checksum: the file was changed or damaged on disk; it is not served until it is repaired`);
    this.damaged$.next(orderNo);
  }

  /** The numbers of the entries found not to match their checksum and not repaired yet, in order. */
  damagedEntries(): number[] {
    return [...this.damaged].sort((a, b) => a - b);
  }

  /**
   * Reads the whole log from the file and checks each entry against its checksum (at start, before
   * the replica serves: a file changed while the replica was down is found here, with no peer to
   * compare with). Returns the numbers of the entries that do not match (see {@link damagedEntries}).
   * Also finds how far every entry is vouched for by its own checksum ({@link vouchedThrough}).
   */
  async verifyChecksums(): Promise<number[]> {
    const started = monotonicNow();
    let checked = 0;
    let expected = 1;
    let unvouched: number | undefined;
    for (let after = 0; ; ) {
      const page = await queryRows<OrderRow>(
        this.dataSource,
        `SELECT ${ENTRY_COLUMNS} FROM "orders" WHERE "order_no" > ${sqlLiteral(after)} ORDER BY "order_no" LIMIT ${KEY_SCAN_PAGE}`,
      );
      for (const row of page) {
        if (!checksumHolds(row)) this.noteDamaged(row.order_no);
        // A missing number (a row deleted) or an entry without a checksum: nothing vouches for it.
        if (unvouched === undefined && (row.order_no !== expected || row.checksum == null)) unvouched = expected;
        expected = row.order_no + 1;
      }
      checked += page.length;
      if (page.length < KEY_SCAN_PAGE) break;
      after = page[page.length - 1].order_no;
    }
    this.vouched = (unvouched ?? expected) - 1;
    this.checkedSinceStart = true;
    this.checkTookMs = monotonicNow() - started;
    const vouching = this.vouched === expected - 1 ? '' : `; entries after order ${this.vouched} carry no checksum or a number is missing, so they are compared with a peer's`;
    this.logger.log(`checked ${checked} entries against their checksums in ${monotonicNow() - started} ms: ${this.damaged.size === 0 ? 'all match' : `${this.damaged.size} do not`}${vouching}`);
    // Only now, in the background: the fill reads the whole file too, and the two at once made the
    // check at start, which the replica waits for, slower. It begins once the caller's lock is free
    // (at start, when the first recovery round is over). Until it is filled, key lookups query the
    // database.
    if (!this.keys.ready) void this.fillKeyFilter();
    return this.damagedEntries();
  }

  /**
   * The last number through which the file holds every entry with a checksum, numbered from 1
   * without a gap: found by {@link verifyChecksums} (0 until it ran), followed by the entries
   * written since (each checked on its way in) while they carry one, lowered by a truncation.
   * Each of those entries is vouched for by its own checksum (or was found damaged, and is put back
   * from a committed copy), so a restart's comparison with a peer's log need not read them again
   * (RecoveryService); the replica's status tells its peers (`vouched_through`).
   */
  vouchedThrough(): number {
    return Math.min(this.vouched, this.last.order_no);
  }

  /**
   * Whether the file's check at start ({@link verifyChecksums}) is over: until then
   * {@link vouchedThrough} is 0 for want of knowing, not because nothing vouches (the status's
   * `checking_log`).
   */
  checkedAtStart(): boolean {
    return this.checkedSinceStart;
  }

  /** How long the last check of every entry against its checksum took, in ms (0 before it ran). */
  checkDurationMs(): number {
    return this.checkTookMs;
  }

  /**
   * Under the lock: writes back each damaged entry the in-memory tail still holds (the newest
   * thousands), from that copy: it is what this replica wrote, checked on its way in. Returns the
   * numbers put back. The rest need a peer (see RecoveryService).
   */
  async repairFromTail(): Promise<number[]> {
    const first = this.tail[0]?.order_no;
    if (first === undefined) return [];
    const held = this.damagedEntries()
      .filter((n) => n >= first && n <= this.last.order_no && n <= this.durableNo)
      .map((n) => this.tail[n - first]);
    for (const copy of held) await this.writeBack(copy, copy.epoch);
    return held.map((c) => c.order_no);
  }

  /**
   * Under the lock: puts a peer's copy of a damaged entry back in its place — its order, client
   * key, append time and checksum; the epoch stamp stays (a checksum does not cover it). The copy
   * must match its own checksum, and be certainly the order this log held there (the caller sees
   * to it: see RecoveryService.committedCopies).
   */
  async repair(copy: OrderRecordDto): Promise<void> {
    if (!copy.checksum || !checksumHolds(copy)) throw new InvalidInput(`a copy of order ${copy.order_no} without a matching checksum cannot repair it`);
    await this.writeBack(copy);
    this.tail = this.tail.map((r) => (r.order_no === copy.order_no ? { ...copy, epoch: r.epoch } : r));
  }

  /** Writes `copy` over its entry's row: its order, key, append time and checksum, and `epoch` when given (else the row's stays). */
  private async writeBack(copy: OrderRecordDto, epoch?: number): Promise<void> {
    const key = copy.idempotency_key ?? copy.request_id;
    const stamp = epoch === undefined ? '' : sql`, "epoch" = ${epoch}`;
    await this.write(() =>
      execTransaction(this.dataSource, [
        sql`UPDATE "orders" SET "request_id" = ${copy.request_id}, "stock_name" = ${copy.stock_name}, "trade_type" = ${copy.trade_type}, "quantity" = ${copy.quantity}, "idempotency_key" = ${key}, "created_at" = ${copy.created_at ?? 0}, "checksum" = ${copy.checksum ?? null}` +
          `${stamp} WHERE "order_no" = ${sqlLiteral(copy.order_no)}`,
      ]),
    );
    this.damaged.delete(copy.order_no);
    this.keys.addEntry(copy.request_id, copy.idempotency_key);
  }

  /** Up to `limit` entries from `from` on, if the in-memory tail covers `from` (past the end: none). */
  private fromTail(from: number, limit: number): OrderRecordDto[] | undefined {
    const first = this.tail[0]?.order_no;
    if (first === undefined || from < first) return undefined;
    return this.tail.slice(from - first, from - first + limit);
  }

  /**
   * The newest entry of each of those client idempotency keys that is in the log, by key (one
   * query). A key names the entry with that request id, or — once reused after its retention
   * window — the newest entry derived from it.
   */
  async newestByKeys(keys: string[]): Promise<Map<string, OrderRecordDto>> {
    const found = new Map<string, OrderRecordDto>();
    for (const row of await this.entriesWhere('idempotency_key', keys)) {
      const key = row.idempotency_key as string;
      const seen = found.get(key);
      if (!seen || seen.order_no < row.order_no) found.set(key, fromRow(row));
    }
    return found;
  }

  /** The entries of those request ids that are in the log, by request id (one query). */
  async findByRequestIds(requestIds: string[]): Promise<Map<string, OrderRecordDto>> {
    const found = new Map<string, OrderRecordDto>();
    for (const row of await this.entriesWhere('request_id', requestIds)) {
      found.set(row.request_id, fromRow(row));
    }
    return found;
  }

  /**
   * The entries whose `column` is one of `values`. The key lookup is on every trade's path: values
   * the key filter rules out are not asked for (most often, none is left), and the rest by a raw
   * query (see queryRows).
   */
  private async entriesWhere(column: 'idempotency_key' | 'request_id', values: string[]): Promise<OrderRow[]> {
    const candidates = values.filter((v) => this.keys.mayHold(v));
    if (candidates.length === 0) return [];
    return this.intact(await queryRows<OrderRow>(this.dataSource, `SELECT ${ENTRY_COLUMNS} FROM "orders" WHERE "${column}" IN (${candidates.map(sqlLiteral).join(', ')})`));
  }

  /**
   * As {@link page}, to compare this log with another: an entry that does not match its checksum
   * is noted as damaged and given as {@link DamagedSlot} at its place, instead of failing the read,
   * so that the other log's copy replaces it like any differing entry (CatchUpService).
   */
  async pageToCompare(after: number, limit: number): Promise<(OrderRecordDto | DamagedSlot)[]> {
    try {
      return await this.page(after, limit);
    } catch (err) {
      if (!(err instanceof DamagedEntry)) throw err;
      const rows = await queryRows<OrderRow>(
        this.dataSource,
        `SELECT ${ENTRY_COLUMNS} FROM "orders" WHERE "order_no" BETWEEN ${after + 1} AND ${after + limit} ORDER BY "order_no"`,
      );
      return rows.map((row) => (this.isDamaged(row) ? { order_no: row.order_no, damaged: true as const } : fromRow(row)));
    }
  }

  /**
   * Entries numbered after `after`, oldest first. A raw query: a catch-up reads pages of up to
   * 1000 entries, and TypeORM's entities would cost several times the query.
   *
   * A page that begins before the in-memory tail is read from the file and, if the file ends
   * inside it, goes on from the tail: a leader's published entries whose write is still under way
   * are in memory only, and a page that stopped at the file's end would read as the end of its log
   * (a catch-up takes a short page for the last one, and a recovering follower would drop entries
   * a majority may hold and the leader counts it for).
   */
  async page(after: number, limit: number): Promise<OrderRecordDto[]> {
    if (!Number.isSafeInteger(after) || !Number.isSafeInteger(limit)) throw new TypeError(`not a page: after ${after}, limit ${limit}`);
    const cached = this.fromTail(after + 1, limit);
    if (cached) return cached;
    const rows = await queryRows<OrderRow>(
      this.dataSource,
      `SELECT ${ENTRY_COLUMNS} FROM "orders" WHERE "order_no" BETWEEN ${after + 1} AND ${after + limit} ORDER BY "order_no"`,
    );
    const entries = this.intact(rows).map(fromRow);
    if (entries.length < limit) {
      const next = (entries.at(-1)?.order_no ?? after) + 1;
      entries.push(...(this.fromTail(next, limit - entries.length) ?? []));
    }
    return entries;
  }

  /**
   * Leader only, under the lock: appends new orders with the next numbers, in order, in one
   * transaction. An order whose request id is already in the log (a retry, or reconciliation won
   * the race) — or earlier in the same batch — is not appended again: its entry is returned, or,
   * when that entry is another trade (stock, side in any letter case, quantity), a 422
   * `key_reused` error for that order alone.
   *
   * Raft's parallel append: the new entries are published — in the tail and as the last position,
   * which replication sends from — before they are written, so that the followers write them while
   * this replica does ({@link leaderAppends$}). A number, once published, may be on a
   * follower and is never given to another entry, so the request ids are checked against the log
   * first (the log on disk is complete: every write finishes under the lock). Should the write fail
   * all the same, the entries are withdrawn from memory and {@link unwritten$} fires: the leader
   * must not number anything again in this epoch (its leadership steps down).
   *
   * `published`, when given, hears the results as soon as the new entries are published, before
   * their write is over (it is not called when no entry is new).
   */
  async appendNew(
    orders: NewOrder[],
    meta: Partial<Record<MetaKey, number>> = {},
    published?: (results: ({ record: OrderRecordDto; created: boolean } | Error)[]) => void,
  ): Promise<({ record: OrderRecordDto; created: boolean } | Error)[]> {
    const known = await this.findByRequestIds([...new Set(orders.map((o) => o.request_id))]);
    const fresh: (OrderRecordDto & { created_at: number })[] = [];
    const now = Date.now();
    const results = orders.map((order) => {
      const existing = known.get(order.request_id);
      if (existing) {
        if (!sameTradeRequest(existing, order)) {
          return new DomainError(KEY_REUSED_STATUS, keyReusedMessage(order.idempotency_key ?? order.request_id), IdempotencyRefusal.keyReused);
        }
        return { record: existing, created: false };
      }
      const record = { ...order, created_at: order.created_at ?? now, order_no: this.last.order_no + 1 + fresh.length };
      if (record.idempotency_key === record.request_id) delete record.idempotency_key;
      record.checksum = orderChecksum(record);
      fresh.push(record);
      known.set(order.request_id, record);
      return { record, created: true };
    });
    if (fresh.length === 0) {
      await this.append([], meta);
      return results;
    }
    const before = this.last;
    const changed = this.changedMeta(meta);
    this.noteKeys(fresh);
    this.remember(fresh, []);
    this.leaderAppends$.next('published');
    published?.(results);
    try {
      await this.write(() => execTransaction(this.dataSource, this.statements(fresh, changed)));
    } catch (err) {
      this.tail.splice(this.tail.length - fresh.length);
      this.last = before;
      const message = `orders ${fresh[0].order_no}–${fresh[fresh.length - 1].order_no} were sent before their write failed: ${(err as Error).message}`;
      this.logger.error(message);
      this.unwritten$.next(message);
      throw err;
    }
    this.remember([], changed);
    this.durableNo = this.last.order_no;
    this.vouchFor(fresh);
    this.leaderAppends$.next('written');
    return results;
  }

  /**
   * Under the lock: appends entries that continue the log exactly (next number first), with the
   * metadata that changed, in one transaction — one sqlite3 call and one fsync (see execTransaction).
   */
  async append(given: OrderRecordDto[], meta: Partial<Record<MetaKey, number>> = {}): Promise<void> {
    // An entry from a leader that did not say when it was appended starts its key's window now
    // (in memory as on disk, so that the tail and a query after a restart answer the same).
    assertChecksums(given);
    const now = Date.now();
    const records = given.map((r): OrderRecordDto & { created_at: number } => ({ ...r, created_at: r.created_at ?? now }));
    const changed = this.changedMeta(meta);
    // Nothing to write (a heartbeat that changes nothing): no transaction, no fsync.
    if (records.length === 0 && changed.length === 0) return;
    records.forEach((r, i) => {
      if (r.order_no !== this.last.order_no + 1 + i) {
        throw new Error(`log must continue at ${this.last.order_no + 1 + i}, got ${r.order_no}`);
      }
    });
    this.noteKeys(records);
    await this.write(() => execTransaction(this.dataSource, this.statements(records, changed)));
    this.remember(records, changed);
    this.durableNo = this.last.order_no;
    this.vouchFor(records);
  }

  /** Entries now on disk, checked on their way in: {@link vouchedThrough} follows them while each carries a checksum. */
  private vouchFor(records: OrderRecordDto[]): void {
    for (const r of records) {
      if (this.vouched !== r.order_no - 1 || !r.checksum) return;
      this.vouched = r.order_no;
    }
  }

  /** Before a write of these entries: should it fail, the key filter only holds a value too many (see LogKeyFilter). */
  private noteKeys(records: OrderRecordDto[]): void {
    for (const r of records) this.keys.addEntry(r.request_id, r.idempotency_key);
    if (this.keys.overfull) void this.fillKeyFilter();
  }

  private changedMeta(meta: Partial<Record<MetaKey, number>>): [MetaKey, number][] {
    return Object.entries(meta).filter(([k, v]) => this.meta.get(k as MetaKey) !== v) as [MetaKey, number][];
  }

  /** The statements that write these entries and metadata (one transaction). */
  private statements(records: (OrderRecordDto & { created_at: number })[], changed: [MetaKey, number][]): string[] {
    const statements: string[] = [];
    if (records.length > 0) {
      const rows = records.map((r) => [
        r.order_no,
        r.epoch,
        r.request_id,
        r.stock_name,
        r.trade_type,
        r.quantity,
        r.idempotency_key ?? r.request_id,
        r.created_at,
        r.checksum ?? null,
      ]);
      statements.push(
        sql`INSERT INTO "orders" ("order_no", "epoch", "request_id", "stock_name", "trade_type", "quantity", "idempotency_key", "created_at", "checksum") VALUES ${rows}`,
      );
    }
    if (changed.length > 0) {
      statements.push(
        sql`INSERT INTO "replica_meta" ("key", "value") VALUES ${changed} ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"`,
      );
    }
    return statements;
  }

  /** Takes entries (which continue the log) and metadata into memory. */
  private remember(records: OrderRecordDto[], changed: [MetaKey, number][]): void {
    for (const [k, v] of changed) this.meta.set(k, v);
    if (records.length > 0) {
      const last = records[records.length - 1];
      this.last = { order_no: last.order_no, epoch: last.epoch };
      this.tail.push(...records);
      if (this.tail.length > 2 * TAIL_SIZE) this.tail.splice(0, this.tail.length - TAIL_SIZE);
    }
  }

  /**
   * Under the lock: gives entries of the log the epoch another leader stamped them with, their
   * order unchanged (see {@link sameOrder}), in one transaction. A new leader stamps the last
   * entry it inherited above the commit point with its own epoch (LeadershipService), so that a
   * log holding it compares as recent as it is: a follower takes the new stamp rather than
   * dropping an order it already holds, committed or not.
   *
   * An entry given with its `created_at` and `checksum` (another replica's copy, checked against
   * its checksum on arrival) takes those too: the same order written by two leaders — a paused
   * one, and the next, which logged the client's retry anew — was written at two times, and the
   * logs end identical only if every replica keeps the copy of the one that leads (found by a
   * review: after leader pauses, some entries differed in `created_at` and `checksum`).
   */
  async restamp(entries: (LogPosition & Partial<Pick<OrderRecordDto, 'created_at' | 'checksum'>>)[]): Promise<number> {
    const changed = new Map(entries.map((e) => [e.order_no, { epoch: e.epoch, copy: e.created_at !== undefined && e.checksum ? { created_at: e.created_at, checksum: e.checksum } : undefined }]));
    if (changed.size === 0) return 0;
    await this.write(() =>
      execTransaction(
        this.dataSource,
        [...changed].map(([orderNo, { epoch, copy }]) =>
          copy
            ? sql`UPDATE "orders" SET "epoch" = ${epoch}, "created_at" = ${copy.created_at}, "checksum" = ${copy.checksum} WHERE "order_no" = ${orderNo}`
            : sql`UPDATE "orders" SET "epoch" = ${epoch} WHERE "order_no" = ${orderNo}`,
        ),
      ),
    );
    // New objects: an entry already handed to a sync in flight keeps what it was sent as.
    this.tail = this.tail.map((r) => {
      const change = changed.get(r.order_no);
      return change ? { ...r, epoch: change.epoch, ...change.copy } : r;
    });
    const last = changed.get(this.last.order_no);
    if (last !== undefined) this.last = { order_no: this.last.order_no, epoch: last.epoch };
    return changed.size;
  }

  /**
   * Under the lock, before entries of another log that end at `through` stamped `epoch` are
   * applied: drops the entries after `through` stamped with an older epoch. Stamps never go down
   * along a log (a leader stamps its own entries, and its last inherited one, with its epoch: see
   * LeadershipService.adoptInherited), so the other log holds none of those: they conflict with its
   * entries there, or lie beyond its end, and are not committed. Kept, they would leave a log whose
   * last entry's stamp is older than one it holds before it, which compares as less advanced than
   * it is. Committed entries are the same everywhere, whatever their stamps: only those above the
   * commit point are looked at. Returns how many were dropped.
   */
  async dropOlderStampsAfter(through: number, epoch: number, committedThrough = this.getMeta('commit_no')): Promise<number> {
    const after = Math.max(through, committedThrough, this.getMeta('commit_no'));
    if (this.last.order_no <= after) return 0;
    const [first] = await queryRows<{ order_no: number }>(
      this.dataSource,
      `SELECT "order_no" FROM "orders" WHERE "order_no" > ${sqlLiteral(after)} AND "epoch" < ${sqlLiteral(epoch)} ORDER BY "order_no" LIMIT 1`,
    );
    return first ? this.truncateFrom(first.order_no, committedThrough) : 0;
  }

  /**
   * Under the lock: drops every entry numbered `from` or later (an unacknowledged, divergent
   * tail). Refuses with {@link CommittedEntryConflict} to drop a committed entry.
   */
  async truncateFrom(from: number, committedThrough = this.getMeta('commit_no')): Promise<number> {
    const commitNo = Math.max(committedThrough, this.getMeta('commit_no'));
    if (from <= commitNo && from <= this.last.order_no) throw new CommittedEntryConflict(from, commitNo);
    const result = await this.write(() => this.orders.delete({ orderNo: MoreThanOrEqual(from) }));
    this.tail = this.tail.filter((r) => r.order_no < from);
    for (const n of this.damaged) if (n >= from) this.damaged.delete(n); // gone with the tail: nothing to repair
    this.vouched = Math.min(this.vouched, from - 1);
    const [tail] = await this.orders.find({ order: { orderNo: 'DESC' }, take: 1 });
    this.last = tail ? { order_no: tail.orderNo, epoch: tail.epoch } : { order_no: 0, epoch: 0 };
    this.durableNo = this.last.order_no;
    return result.affected ?? 0;
  }

  async count(): Promise<number> {
    return this.orders.count();
  }
}

/**
 * Refuses (400) entries from another replica of which one does not match its checksum: it was
 * changed on its way, and none of them is applied — checked before anything of the log changes.
 */
export function assertChecksums(entries: OrderRecordDto[]): void {
  const changed = entries.find((r) => !checksumHolds(r));
  if (changed) throw new InvalidInput(`order ${changed.order_no} does not match its checksum: it was changed on its way from the leader, and is not written`);
}

/** In {@link OrderLogService.pageToCompare}: this log's entry at that number does not match its checksum. */
export interface DamagedSlot {
  order_no: number;
  damaged: true;
}

/** What a replica may answer to a lookup of one order number (see {@link lookupVerdict}). */
export type LookupVerdict = 'serve' | 'absent' | 'cannot_vouch';

/** What the vouching rule needs to know about the replica answering a lookup. */
export interface VouchingState {
  role: ReplicaRole;
  /** Highest number known durable on a majority (leader: computed; others: learnt from syncs). */
  commitNo: number;
  /** Last number in this replica's log. */
  lastNo: number;
  /** Last number on its disk: below `lastNo` while a leader writes entries it already sent. */
  durableNo: number;
  /** `ORDER_ACK_MODE=leader`: a settled leader acknowledges an order once its own log has it. */
  ackByLeaderAlone: boolean;
}

/**
 * The vouching rule of order lookups: a replica answers only for what it knows to be acknowledged.
 *
 * - `serve`: `orderNo` is at or below the commit point (and in the log): a committed entry never
 *   changes, so any replica that holds it may give it. A settled leader with
 *   `ORDER_ACK_MODE=leader` also serves what its disk holds, which is what it acknowledges.
 * - `absent` (404): only a settled leader (role `leader`: it caught up with a majority and took
 *   over) holds every acknowledged order, so only it may say that a number beyond its last order
 *   does not exist.
 * - `cannot_vouch` (503 `not_committed`): anything else — an entry above the commit point
 *   (appended but not acknowledged: its number may yet be dropped and given to another trade), a
 *   follower or recovering replica whose commit point is below the number, a leader still
 *   promoting (catching up). The caller asks another replica, or again shortly.
 */
export function lookupVerdict(orderNo: number, s: VouchingState): LookupVerdict {
  const settledLeader = s.role === 'leader';
  const vouchedThrough = settledLeader && s.ackByLeaderAlone ? s.durableNo : Math.min(s.commitNo, s.lastNo);
  if (orderNo <= vouchedThrough) return 'serve';
  if (settledLeader && orderNo > s.lastNo) return 'absent';
  return 'cannot_vouch';
}

/**
 * Whether `own` is already `theirs`'s copy: the same entry, and, when `theirs` carries a checksum,
 * written at the same time with the same checksum (an own copy without one, written before
 * checksums, takes the source's). A source's copy without a checksum gives nothing to take.
 */
export function sameCopy(own: OrderRecordDto, theirs: OrderRecordDto): boolean {
  return sameEntry(own, theirs) && (!theirs.checksum || (own.checksum === theirs.checksum && own.created_at === theirs.created_at));
}

/** The same entry: the same order (see {@link sameOrder}) under the same epoch stamp. */
export function sameEntry(a: OrderRecordDto, b: OrderRecordDto): boolean {
  return a.epoch === b.epoch && sameOrder(a, b);
}

/**
 * The same order at the same number, whatever epoch each copy is stamped with: the same request
 * id, stock, side, quantity and idempotency key. (A request id names one trade at the catalog,
 * so two leaders that logged it at the same number logged the same order.)
 */
export function sameOrder(a: OrderRecordDto, b: OrderRecordDto): boolean {
  return (
    a.order_no === b.order_no &&
    a.request_id === b.request_id &&
    a.stock_name === b.stock_name &&
    a.trade_type === b.trade_type &&
    a.quantity === b.quantity &&
    (a.idempotency_key ?? a.request_id) === (b.idempotency_key ?? b.request_id)
  );
}

export function toInfo(r: OrderRecordDto): OrderInfo {
  return { order_no: r.order_no, stock_name: r.stock_name, trade_type: r.trade_type, quantity: r.quantity };
}

/** The columns of an entry, named as {@link OrderRecordDto}'s fields. */
type OrderRow = Omit<OrderRecordDto, 'idempotency_key' | 'created_at' | 'checksum'> & { idempotency_key: string | null; created_at: number; checksum: string | null };
const ENTRY_COLUMNS = `"order_no", "epoch", "request_id", "stock_name", "trade_type", "quantity", "idempotency_key", "created_at", "checksum"`;

/** An entry from its row: the key only when it differs from the request id, the checksum when there is one (as {@link toRecord}). */
function fromRow({ idempotency_key, checksum, ...entry }: OrderRow): OrderRecordDto {
  return {
    ...entry,
    ...(idempotency_key && idempotency_key !== entry.request_id && { idempotency_key }),
    ...(checksum && { checksum }),
  };
}

function toRecord(o: Order): OrderRecordDto {
  return {
    order_no: o.orderNo,
    epoch: o.epoch,
    request_id: o.requestId,
    stock_name: o.stockName,
    trade_type: o.tradeType,
    quantity: o.quantity,
    ...(o.idempotencyKey && o.idempotencyKey !== o.requestId ? { idempotency_key: o.idempotencyKey } : {}),
    created_at: o.createdAt,
    ...(o.checksum && { checksum: o.checksum }),
  };
}
