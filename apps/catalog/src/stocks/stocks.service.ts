import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, In, MoreThan, Repository } from 'typeorm';
import {
  CatalogEnv,
  CatalogMessages,
  CatalogTradeDto,
  CatalogTradeRecord,
  LookupMessages,
  StockInfo,
  tradeSide,
} from '@app/contracts';
import { StockNotFound, TradeRefused } from '@app/common';
import { CacheInvalidationService } from '../invalidation/cache-invalidation.service';
import { INITIAL_STOCKS } from './initial-stocks';
import { Stock } from './stock.entity';
import { TradeRecord, TradeOutcome } from './trade-record.entity';

const MAX_BATCH = 256;

interface Decision {
  outcome: TradeOutcome;
  replayed: boolean;
}

@Injectable()
export class StocksService implements OnApplicationBootstrap {
  private readonly logger = new Logger(StocksService.name);
  private readonly pending: { dto: CatalogTradeDto; resolve: (d: Decision) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;
  /** Per stock: the invalidation push waiting to start (shared), and the one under way. */
  private readonly queuedPushes = new Map<string, Promise<unknown>>();
  private readonly runningPushes = new Map<string, Promise<unknown>>();
  private readonly capacity: number;

  constructor(
    @InjectRepository(Stock) private readonly stocks: Repository<Stock>,
    @InjectRepository(TradeRecord) private readonly trades: Repository<TradeRecord>,
    private readonly dataSource: DataSource,
    private readonly invalidation: CacheInvalidationService,
    config: ConfigService<CatalogEnv, true>,
  ) {
    this.capacity = config.get('STOCK_CAPACITY', { infer: true });
  }

  /** Loads the initial catalog on first start (empty database). */
  async onApplicationBootstrap(): Promise<void> {
    if ((await this.stocks.count()) === 0) {
      await this.stocks.insert(INITIAL_STOCKS);
      this.logger.log(`seeded ${INITIAL_STOCKS.length} stocks`);
    }
  }

  async lookup(name: string): Promise<StockInfo> {
    const stock = await this.stocks.findOneBy({ name });
    if (!stock) throw new StockNotFound(LookupMessages.stockNotFound);
    return toInfo(stock);
  }

  /**
   * Buys or sells atomically. A request id makes the trade idempotent: a repeated id gets the
   * recorded outcome without trading again. A successful trade is acknowledged only after the
   * front end has been told to drop the stock from its cache.
   */
  async trade(dto: CatalogTradeDto): Promise<string> {
    const { outcome, replayed } = await this.decide(dto);
    if (outcome === 'refused') throw new TradeRefused(CatalogMessages.tradeFailed);
    if (!replayed) await this.invalidate(dto.stock_name);
    return CatalogMessages.traded;
  }

  /**
   * Group commit: trades arriving while a batch is being written wait for the next one, and a
   * whole batch is decided in one transaction (one fsync), in arrival order, one at a time.
   * SQLite has a single writer anyway; this keeps a read-check-write of a stock from ever
   * interleaving with another trade's and spends one commit on many trades under load.
   */
  private decide(dto: CatalogTradeDto): Promise<Decision> {
    return new Promise<Decision>((resolve, reject) => {
      this.pending.push({ dto, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        try {
          const decisions = await this.decideBatch(batch.map((p) => p.dto));
          batch.forEach((p, i) => {
            const d = decisions[i];
            if (d instanceof Error) p.reject(d);
            else p.resolve(d);
          });
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async decideBatch(dtos: CatalogTradeDto[]): Promise<(Decision | Error)[]> {
    const ids = dtos.map((d) => d.request_id).filter((id): id is string => id !== undefined);
    const recorded = new Map<string, TradeOutcome>();
    if (ids.length > 0) {
      for (const t of await this.trades.find({ where: { requestId: In(ids) } })) recorded.set(t.requestId, t.outcome);
    }
    return this.dataSource.transaction(async (tx) => {
      const names = [...new Set(dtos.map((d) => d.stock_name))];
      const stocks = new Map((await tx.find(Stock, { where: { name: In(names) } })).map((st) => [st.name, st]));
      const changed = new Set<Stock>();
      const records: Partial<TradeRecord>[] = [];
      const decisions = dtos.map((dto): Decision | Error => {
        const previous = dto.request_id && recorded.get(dto.request_id);
        if (previous) return { outcome: previous, replayed: true };
        const stock = stocks.get(dto.stock_name);
        if (!stock) return new StockNotFound(CatalogMessages.stockNotFound);
        const q = dto.quantity;
        const buy = tradeSide(dto.type) === 'buy';
        const allowed = buy ? stock.quantity >= q : stock.quantity + q <= this.capacity;
        if (allowed) {
          stock.quantity += buy ? -q : q;
          stock.tradeVolume += q;
          changed.add(stock);
        }
        const outcome: TradeOutcome = allowed ? 'ok' : 'refused';
        const requestId = dto.request_id ?? randomUUID();
        recorded.set(requestId, outcome); // the same id twice in one batch: the second is a replay
        records.push({ requestId, stockName: stock.name, type: dto.type, quantity: q, outcome });
        return { outcome, replayed: false };
      });
      for (const st of changed) {
        await tx.update(Stock, { name: st.name }, { quantity: st.quantity, tradeVolume: st.tradeVolume });
      }
      if (records.length > 0) await tx.insert(TradeRecord, records);
      return decisions;
    });
  }

  /**
   * Pushes the invalidation of `stock`. Trades committed together share one push: a push that
   * has not started yet covers every trade committed before it starts.
   */
  private invalidate(stock: string): Promise<unknown> {
    const queued = this.queuedPushes.get(stock);
    if (queued) return queued;
    const start = (): Promise<unknown> => {
      this.queuedPushes.delete(stock);
      const push: Promise<unknown> = this.invalidation.invalidate(stock).finally(() => {
        if (this.runningPushes.get(stock) === push) this.runningPushes.delete(stock);
      });
      this.runningPushes.set(stock, push);
      return push;
    };
    const running = this.runningPushes.get(stock);
    if (!running) return start();
    // The push under way may have started before this trade committed: queue the next one.
    const next = running.then(start);
    this.queuedPushes.set(stock, next);
    return next;
  }

  /** Applied (successful) trades after `after`, oldest first. */
  async appliedTrades(after: number, limit: number): Promise<CatalogTradeRecord[]> {
    const rows = await this.trades.find({
      where: { seq: MoreThan(after), outcome: 'ok' },
      order: { seq: 'ASC' },
      take: limit,
    });
    return rows.map((t) => ({
      seq: t.seq,
      request_id: t.requestId,
      stock_name: t.stockName,
      type: t.type,
      quantity: t.quantity,
    }));
  }
}

function toInfo(s: Stock): StockInfo {
  return { stock_name: s.name, price: s.price, trade_volume: s.tradeVolume, quantity: s.quantity };
}
