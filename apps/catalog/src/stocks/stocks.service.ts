import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { Mutex } from 'async-mutex';
import { randomUUID } from 'node:crypto';
import { DataSource, MoreThan, Repository } from 'typeorm';
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
import { CatalogMetrics } from '../metrics/catalog.metrics';
import { INITIAL_STOCKS } from './initial-stocks';
import { Stock } from './stock.entity';
import { TradeRecord, TradeOutcome } from './trade-record.entity';

@Injectable()
export class StocksService implements OnApplicationBootstrap {
  private readonly logger = new Logger(StocksService.name);
  /**
   * Trades are serialized in-process: SQLite has one writer anyway, and a read-check-write
   * sequence on a stock must not interleave with another trade on the same connection.
   */
  private readonly tradeLock = new Mutex();
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
    const { outcome, replayed } = await this.tradeLock.runExclusive(() => this.decide(dto));
    this.metrics.trades.inc({ outcome: replayed ? 'replayed' : outcome });
    if (outcome === 'refused') throw new TradeRefused(CatalogMessages.tradeFailed);
    if (!replayed) await this.invalidation.invalidate(dto.stock_name);
    return CatalogMessages.traded;
  }

  private async decide(dto: CatalogTradeDto): Promise<{ outcome: TradeOutcome; replayed: boolean }> {
    if (dto.request_id) {
      const previous = await this.trades.findOneBy({ requestId: dto.request_id });
      if (previous) return { outcome: previous.outcome, replayed: true };
    }
    const outcome = await this.dataSource.transaction(async (tx) => {
      const stock = await tx.findOneBy(Stock, { name: dto.stock_name });
      if (!stock) throw new StockNotFound(CatalogMessages.stockNotFound);
      const q = dto.quantity;
      const allowed = tradeSide(dto.type) === 'buy' ? stock.quantity >= q : stock.quantity + q <= this.capacity;
      if (allowed) {
        stock.quantity += tradeSide(dto.type) === 'buy' ? -q : q;
        stock.tradeVolume += q;
        await tx.update(Stock, { name: stock.name }, { quantity: stock.quantity, tradeVolume: stock.tradeVolume });
      }
      const result: TradeOutcome = allowed ? 'ok' : 'refused';
      await tx.insert(TradeRecord, {
        requestId: dto.request_id ?? randomUUID(),
        stockName: stock.name,
        type: dto.type,
        quantity: q,
        outcome: result,
      });
      return result;
    });
    return { outcome, replayed: false };
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
