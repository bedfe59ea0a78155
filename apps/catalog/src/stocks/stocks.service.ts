import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, In, MoreThan, Repository } from 'typeorm';
import {
  BatchItemResult,
  CatalogEnv,
  CatalogMessages,
  CatalogTradeDto,
  CatalogTradeRecord,
  IdempotencyRefusal,
  KEY_REUSED_STATUS,
  keyReusedMessage,
  LookupMessages,
  MAX_TRADE_BATCH,
  StockInfo,
  tradeFingerprint,
  tradeSide,
} from '@app/contracts';
import {
  Batcher,
  batchResults,
  DomainError,
  execTransaction,
  isConstraintViolation,
  resultWithReason,
  sql,
  SqlValue,
  StockNotFound,
  TradeRefused,
  withReason,
} from '@app/common';
import { CacheInvalidationService } from '../invalidation/cache-invalidation.service';
import { CatalogMetrics } from '../metrics/catalog.metrics';
import { INITIAL_STOCKS } from './initial-stocks';
import { Stock } from './stock.entity';
import { REFUSAL_REASONS, TradeRecord, TradeOutcome } from './trade-record.entity';

interface Decision {
  outcome: TradeOutcome;
  replayed: boolean;
}

/**
 * A trade queued for the decisions batcher. `applied` is called once the trade is decided and
 * applied (new, or a replay of an applied one), before its batch is committed, with the stock as
 * the batch leaves it — its trade volume above any the stock had before the trade's commit, as
 * every applied trade adds to it: it starts the trade's cache invalidation, which then runs
 * alongside the commit.
 */
interface Queued {
  dto: CatalogTradeDto;
  /** `recordId`: the request id the trade is recorded under (its own, or one made up for it). */
  applied: (stock: StockInfo, recordId: string) => void;
}

/** A successful trade's answer: the seed's message, and its stock as the trade's batch committed it (at the trade or later). */
export interface Traded {
  message: string;
  stock: StockInfo;
}

/**
 * The batch being written: the stocks it changes, and when its write is over (committed and in
 * `committed`, or failed).
 */
interface Write {
  stocks: Set<string>;
  over: Promise<void>;
}

/** What the catalog remembers of a request id: the trade it named (its fingerprint) and its outcome. */
interface Recorded {
  outcome: TradeOutcome;
  fingerprint: string;
}

/** The fingerprint of a catalog trade (see tradeFingerprint: stock, side in any letter case, quantity). */
const fingerprintOf = (t: { stock_name: string; type: string; quantity: number }) =>
  tradeFingerprint({ stock_name: t.stock_name, trade_type: t.type, quantity: t.quantity });

@Injectable()
export class StocksService implements OnApplicationBootstrap {
  private readonly logger = new Logger(StocksService.name);
  /**
   * Group commit: trades are decided in batches, one transaction (one fsync) each, one batch at a
   * time. SQLite has a single writer anyway, and deciding serially in-process keeps a stock's
   * read-check-write from ever interleaving with another trade's.
   */
  private readonly decisions = new Batcher<Queued, Decision>((queued) => this.decideBatch(queued), {
    maxBatch: MAX_TRADE_BATCH,
  });
  /**
   * The stocks as last committed. This process is the database's only writer, so the table and
   * this copy change together: after each committed batch, never before. Lookups and trade
   * decisions read it instead of querying.
   */
  private readonly committed = new Map<string, StockInfo>();
  /**
   * The batch being written, if any (the batcher writes one at a time). Its trades' invalidations
   * are pushed while it commits, so a front end may miss on a stock and ask for it after the push
   * arrived but before the commit: such a lookup waits for the write to be over, or it would read
   * the stock from before a trade about to be acknowledged and cache it.
   */
  private writing?: Write;
  /**
   * The request ids of applied trades whose invalidation is not safe yet, with how many of their
   * pushes are (a replay pushes again). {@link appliedTrades} lists none of them, nor any trade
   * after one: see there.
   */
  private readonly unsafe = new Map<string, number>();
  /**
   * For each stock, its newest push until that push is safe: delivered to every front end holding
   * a lease, or waited out (see CacheInvalidationService.invalidate). No read shows a stock before
   * the newest push of it at the read is safe (see {@link shownOnceSafe}).
   */
  private readonly newestPush = new Map<string, Promise<void>>();
  private readonly capacity: number;

  constructor(
    @InjectRepository(Stock) private readonly stocks: Repository<Stock>,
    @InjectRepository(TradeRecord) private readonly trades: Repository<TradeRecord>,
    private readonly dataSource: DataSource,
    private readonly invalidation: CacheInvalidationService,
    private readonly metrics: CatalogMetrics,
    config: ConfigService<CatalogEnv, true>,
  ) {
    this.capacity = config.get('STOCK_CAPACITY', { infer: true });
  }

  /** Loads the initial catalog on first start (empty database), then the stocks into memory. */
  async onApplicationBootstrap(): Promise<void> {
    if ((await this.stocks.count()) === 0) {
      await this.stocks.insert(INITIAL_STOCKS);
      this.logger.log(`seeded ${INITIAL_STOCKS.length} stocks`);
    }
    for (const stock of await this.stocks.find()) this.committed.set(stock.name, toInfo(stock));
  }

  /**
   * A stock as committed. A lookup of a stock that the batch being written changes waits until
   * that write is over (see {@link writing}); then it is answered as committed, once the stock's
   * newest push is safe (see {@link shownOnceSafe}). Other stocks are answered at once.
   */
  async lookup(name: string): Promise<StockInfo> {
    const writing = this.writing;
    if (writing?.stocks.has(name)) await writing.over;
    const stock = this.committed.get(name);
    if (!stock) throw new StockNotFound(LookupMessages.stockNotFound);
    return this.shownOnceSafe({ ...stock }, this.newestPush.get(name));
  }

  /** Every stock, sorted by name; once the batch being written, if it changes any, is over, and each stock's newest push is safe (as {@link lookup}). */
  async list(): Promise<StockInfo[]> {
    const writing = this.writing;
    if (writing && writing.stocks.size > 0) await writing.over;
    const stocks = [...this.committed.values()].sort((a, b) => (a.stock_name < b.stock_name ? -1 : a.stock_name > b.stock_name ? 1 : 0)).map((s) => ({ ...s }));
    return this.shownOnceSafe(stocks, ...this.newestPush.values());
  }

  /**
   * `shown`, a read of stocks as committed now, once the pushes in `newest` (each stock's newest
   * push not safe yet, taken at the read) are safe, and the start-up fence is over.
   *
   * A change committed but not yet pushed to every front end may still be hidden by another
   * front end's cache: shown through one front end meanwhile, it could be followed by the stock
   * from before it through another — reads going back for a client that moves between them. So
   * the catalog shows a change only once its push is safe, as it acknowledges a trade: every
   * value any front end then holds or loads is new enough. The newest push of a stock covers its
   * earlier changes too: it started after they were committed (batches are decided one at a
   * time), and a front end that takes it drops the stock and the fills of it in flight, and takes
   * none older than its volume; a lease waited out or a grant acknowledged since it began clears
   * as much. So an earlier push still waiting out a front end's lease holds nothing once a later
   * one is safe. The read is not retaken after the wait, which could show a later change whose
   * push is still under way. The fence covers changes an earlier process committed and may not
   * have pushed: front ends may serve stocks from before them under its leases until it is over.
   */
  private async shownOnceSafe<T>(shown: T, ...newest: (Promise<void> | undefined)[]): Promise<T> {
    const waits = newest.filter((p): p is Promise<void> => p !== undefined);
    const fence = this.invalidation.fenceEnd();
    if (fence) waits.push(fence);
    if (waits.length > 0) await Promise.all(waits);
    return shown;
  }

  /** Makes `safe` `stock`'s newest push, until it resolves (or a newer one comes). */
  private trackPush(stock: string, safe: Promise<void>): void {
    this.newestPush.set(stock, safe);
    void safe.then(() => {
      if (this.newestPush.get(stock) === safe) this.newestPush.delete(stock);
    });
  }

  /**
   * Buys or sells atomically. A request id makes the trade idempotent: a repeated id gets the
   * recorded outcome without trading again, or 422 (`key_reused`, nothing traded) when it named
   * another trade (another stock, side or quantity). A successful trade — a replayed one too, whose first
   * push may still be under way — is acknowledged only once it is committed and the front end has
   * been told to drop the stock from its cache.
   *
   * The two go on together: the push starts as soon as the trade is decided, while its batch
   * commits, rather than after, which takes the push off the trade's serial path. A lookup that
   * reaches the catalog between the push and the commit waits for the commit, and for the push
   * to be safe (see {@link lookup}); the trade's answer, which carries the stock as its batch
   * left it, waits for the push too (the acknowledgement does anyway). Should the commit
   * fail, the trade fails; its push was then needless, which costs a front end a miss and nothing
   * else.
   */
  async trade(dto: CatalogTradeDto, requestId?: string): Promise<Traded> {
    let invalidated: Promise<boolean> | undefined;
    /** Resolves once the push is safe (see {@link trackPush}); never rejects. */
    let safe!: Promise<void>;
    /** The stock as the trade's batch leaves it: shown once the push is safe, which covers every change in it. */
    let answer: StockInfo | undefined;
    /**
     * Starts the push once (a batch decided twice may tell the trade twice; either pass's volume
     * will do), and keeps the trade from the reconciliation listing until it is safe, under the id
     * each pass records it with. The answer is the last pass's: the one committed.
     */
    const applied = (stock: StockInfo, recordId: string): void => {
      if (!invalidated) {
        invalidated = this.invalidation.invalidate(dto.stock_name, stock.trade_volume, requestId);
        // A trade that fails after all (its commit, or the second pass refusing it) does not wait for its push.
        invalidated.catch(() => undefined);
        // Safe once done, or, should it fail in a way that says nothing of the front ends, once every lease granted so far has ended.
        safe = invalidated.then(noop, () => this.invalidation.leasesEnded());
        this.trackPush(dto.stock_name, safe);
      }
      this.unlistedUntilSafe(recordId, safe);
      answer = { ...stock };
    };
    const { outcome, replayed } = await this.decisions.submit({ dto, applied });
    this.metrics.trades.inc({ outcome: replayed ? 'replayed' : outcome === 'ok' ? 'ok' : 'refused' });
    if (outcome === 'unknown') throw new StockNotFound(CatalogMessages.stockNotFound); // (decided as an error; never here)
    if (outcome !== 'ok') {
      const refused = new TradeRefused(CatalogMessages.tradeFailed);
      const reason = REFUSAL_REASONS[outcome];
      throw reason ? withReason(refused, reason) : refused;
    }
    // Committed by now, and told (an applied trade always is): its push decides the acknowledgement.
    await invalidated;
    return { message: CatalogMessages.traded, stock: answer as StockInfo };
  }

  /**
   * Keeps the trade recorded under `recordId` out of {@link appliedTrades} until its push is safe
   * (`safe`: done, or waited out). Called before its batch commits.
   */
  private unlistedUntilSafe(recordId: string, safe: Promise<void>): void {
    this.unsafe.set(recordId, (this.unsafe.get(recordId) ?? 0) + 1);
    const release = () => {
      const left = (this.unsafe.get(recordId) ?? 1) - 1;
      if (left > 0) this.unsafe.set(recordId, left);
      else this.unsafe.delete(recordId);
    };
    void safe.then(release);
  }

  /** Several trades, decided in this order (together, when no other batch is being written); one result each. */
  tradeBatch(dtos: CatalogTradeDto[], requestId?: string): Promise<BatchItemResult[]> {
    return batchResults(
      dtos.map((dto) => this.trade(dto, requestId).then(({ message, stock }): BatchItemResult => ({ status: 200, message, stock }), resultWithReason)),
      (result) => result,
    );
  }

  /**
   * Decides a batch in order and writes it in one transaction. Optimistic about request ids: a
   * repeated one is rare (a retry after a failover), so the batch is first written as if every id
   * were new, and only if the UNIQUE index refuses one are the recorded outcomes read and the
   * batch decided again, the repeated ids now as replays.
   *
   * The batch is {@link writing} from its first decision until it is committed and in
   * `committed`, or has failed, across both passes: the first pass may already have started
   * pushes for its stocks.
   */
  private async decideBatch(queued: Queued[]): Promise<(Decision | Error)[]> {
    let over!: () => void;
    const writing: Write = { stocks: new Set(), over: new Promise<void>((resolve) => (over = resolve)) };
    this.writing = writing;
    try {
      return await this.decideAndWrite(queued, new Map(), writing);
    } catch (err) {
      if (!isConstraintViolation(err)) throw err;
      const ids = queued.map((q) => q.dto.request_id).filter((id): id is string => id !== undefined);
      const rows = await this.trades.find({
        select: { requestId: true, outcome: true, stockName: true, type: true, quantity: true },
        where: { requestId: In(ids) },
      });
      return await this.decideAndWrite(
        queued,
        new Map(rows.map((t) => [t.requestId, { outcome: t.outcome, fingerprint: fingerprintOf({ stock_name: t.stockName, type: t.type, quantity: t.quantity }) }])),
        writing,
      );
    } finally {
      this.writing = undefined;
      over();
    }
  }

  /**
   * One pass: decisions on working copies of the stocks, one script with the stocks' new values
   * and a record per decided trade; the copies become the committed state once it has committed.
   * Before the script is run, the changed stocks are marked in `writing` and then every applied
   * trade is told (its push starts): marked first, so that no lookup can read a stock from before
   * the commit once its push may have arrived.
   * A request id in `recorded` — or seen earlier in the batch — replays its outcome when it names
   * the same trade, and fails with 422 when it names another. An unknown stock fails its own
   * trade only, with 404; its request id, if it has one, is recorded with that outcome, so that the
   * id stays bound to that request like any other ("the same key always yields the same outcome":
   * the key of a trade of a misspelt stock, reused for a real one, gets 422 and trades nothing).
   */
  private async decideAndWrite(queued: Queued[], recorded: Map<string, Recorded>, writing: Write): Promise<(Decision | Error)[]> {
    const now = Date.now();
    const working = new Map<string, StockInfo>();
    const records: SqlValue[][] = [];
    /** The request id each applied trade is recorded under. */
    const recordIds: string[] = [];
    const decisions = queued.map(({ dto }, i): Decision | Error => {
      const previous = dto.request_id === undefined ? undefined : recorded.get(dto.request_id);
      if (previous) {
        if (previous.fingerprint !== fingerprintOf(dto)) {
          return new DomainError(KEY_REUSED_STATUS, keyReusedMessage(dto.request_id as string), IdempotencyRefusal.keyReused);
        }
        if (previous.outcome === 'unknown') return new StockNotFound(CatalogMessages.stockNotFound);
        recordIds[i] = dto.request_id as string;
        return { outcome: previous.outcome, replayed: true };
      }
      const known = working.get(dto.stock_name) ?? this.committed.get(dto.stock_name);
      if (!known) {
        if (dto.request_id !== undefined) {
          recorded.set(dto.request_id, { outcome: 'unknown', fingerprint: fingerprintOf(dto) });
          records.push([dto.request_id, dto.stock_name, dto.type, dto.quantity, 'unknown', now]);
        }
        return new StockNotFound(CatalogMessages.stockNotFound);
      }
      const stock = { ...known };
      const q = dto.quantity;
      const buy = tradeSide(dto.type) === 'buy';
      const allowed = buy ? stock.quantity >= q : stock.quantity + q <= this.capacity;
      if (allowed) {
        stock.quantity += buy ? -q : q;
        stock.trade_volume += q;
        working.set(stock.stock_name, stock);
      }
      const outcome: TradeOutcome = allowed ? 'ok' : buy ? 'no_shares' : 'capacity';
      const requestId = dto.request_id ?? randomUUID();
      recordIds[i] = requestId;
      recorded.set(requestId, { outcome, fingerprint: fingerprintOf(dto) });
      records.push([requestId, stock.stock_name, dto.type, q, outcome, now]);
      return { outcome, replayed: false };
    });
    for (const name of working.keys()) writing.stocks.add(name);
    decisions.forEach((d, i) => {
      if (d instanceof Error || d.outcome !== 'ok') return;
      // The stock as this batch leaves it; a replay's trade was committed earlier, at or below it.
      const name = queued[i].dto.stock_name;
      queued[i].applied((working.get(name) ?? this.committed.get(name)) as StockInfo, recordIds[i]);
    });
    const statements = [...working.values()].map(
      (st) => sql`UPDATE "stocks" SET "quantity" = ${st.quantity}, "trade_volume" = ${st.trade_volume} WHERE "name" = ${st.stock_name}`,
    );
    if (records.length > 0) {
      statements.push(sql`INSERT INTO "trades" ("request_id", "stock_name", "type", "quantity", "outcome", "created_at_ms") VALUES ${records}`);
      await execTransaction(this.dataSource, statements);
    }
    for (const st of working.values()) this.committed.set(st.stock_name, st);
    return decisions;
  }

  /**
   * Applied (successful) trades after `after`, oldest first, as far as each is safe to acknowledge.
   *
   * The order leader logs a listed trade that its log lacks (reconciliation), and then answers a
   * retry of it from the log, without the catalog. So a trade is listed only once it could have
   * been acknowledged here: once its cache invalidation is safe (every front end holding a lease
   * got the push, or can no longer serve the stock from before it), and not during the start-up
   * fence, while front ends may still hold leases an earlier process granted. Listed sooner, a
   * trade whose push to one front end was lost could be acknowledged through the log while that
   * front end still served the stock from before it. The page ends before the first trade that is
   * not safe yet, rather than skip it: the leader's reconciled point moves over what it is given,
   * and the catalog may then forget those records. The next pass goes on from there.
   */
  async appliedTrades(after: number, limit: number): Promise<CatalogTradeRecord[]> {
    if (this.invalidation.fenced) return [];
    const found = await this.trades.find({
      where: { seq: MoreThan(after), outcome: 'ok' },
      order: { seq: 'ASC' },
      take: limit,
    });
    const unsafe = found.findIndex((t) => this.unsafe.has(t.requestId));
    const rows = unsafe < 0 ? found : found.slice(0, unsafe);
    return rows.map((t) => ({
      seq: t.seq,
      request_id: t.requestId,
      stock_name: t.stockName,
      type: t.type,
      quantity: t.quantity,
    }));
  }
}

const noop = (): void => undefined;

function toInfo(s: Stock): StockInfo {
  return { stock_name: s.name, price: s.price, trade_volume: s.tradeVolume, quantity: s.quantity };
}
