import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { DataSource, DataSourceOptions } from 'typeorm';
import {
  CatalogEnv,
  CatalogMessages,
  CatalogTradeDto,
  IdempotencyRefusal,
  keyReusedMessage,
  LookupMessages,
  StockInfo,
  TradeRefusalReason,
  validateEnv,
} from '@app/contracts';
import { reasonOf, sqliteOptions, SqlitePragmas, StockNotFound, TradeRefused } from '@app/common';
import { CacheInvalidationService } from '../invalidation/cache-invalidation.service';
import { CatalogMetrics } from '../metrics/catalog.metrics';
import { CATALOG_MIGRATIONS } from '../migrations';
import { INITIAL_STOCKS } from './initial-stocks';
import { Stock } from './stock.entity';
import { StocksService } from './stocks.service';
import { TradeRecord } from './trade-record.entity';

type Invalidate = CacheInvalidationService['invalidate'];

/** The catalog's stocks at capacity 150: every stock starts with 100 shares, so a sell of up to 50 fits. */
const CAPACITY = 150;

/**
 * The stocks service on a real SQLite file in a temporary directory, opened as the app opens it
 * (its TypeORM options, migrations and `PRAGMA synchronous`). Cache invalidation is a fake that
 * makes a lookup of the stock when it is called, and records what it serves and, once it has,
 * what the database holds: the front end is told while the trade commits, so a lookup it makes
 * after the push must wait for the commit, and for the push to be safe. A restart is a new data
 * source and a new service on the same file.
 */
describe('StocksService on a real SQLite file', () => {
  let dir: string;
  const open: DataSource[] = [];
  let invalidate: jest.Mock<Invalidate>;
  /** The invalidation service's start-up fence (and its end, while it lasts), and what a push that failed outright waits for. */
  let fenced: boolean;
  let fenceEnd: Promise<void> | undefined;
  let leasesEnded: Promise<void>;
  /** For each invalidation: the stock's quantity as a lookup made at the call serves it, and then in the database. */
  let seenAtInvalidation: { stock: string; requestId?: string; served?: number; quantityInDb: number }[];
  /** Starts a lookup at an invalidation and records what it serves and the database then holds (the fake's default behaviour). */
  let observe: (stock: string, requestId?: string) => void;

  const quantityInDb = async (db: DataSource, name: string) =>
    ((await db.query(`SELECT "quantity" FROM "stocks" WHERE "name" = ?`, [name])) as { quantity: number }[])[0]?.quantity;
  const tradeRows = async (db: DataSource) =>
    (await db.query(`SELECT "request_id", "stock_name", "type", "quantity", "outcome" FROM "trades" ORDER BY "seq"`)) as {
      request_id: string;
      stock_name: string;
      type: string;
      quantity: number;
      outcome: string;
    }[];

  async function start(): Promise<{ stocks: StocksService; db: DataSource; metrics: CatalogMetrics }> {
    const options = await sqliteOptions(dir, 'catalog.sqlite', CATALOG_MIGRATIONS);
    // Not logging failed queries: an observation (see `observe`) may still be reading when a test closes the database.
    const db = new DataSource({ ...options, entities: [Stock, TradeRecord], logging: false } as DataSourceOptions);
    await db.initialize();
    open.push(db);
    const config = new ConfigService(validateEnv(CatalogEnv, { STOCK_CAPACITY: String(CAPACITY) })) as unknown as ConfigService<CatalogEnv, true>;
    await new SqlitePragmas(db, config).onModuleInit();
    const metrics = new CatalogMetrics(new Registry());
    const invalidation = {
      invalidate,
      get fenced() {
        return fenced;
      },
      fenceEnd: () => fenceEnd,
      leasesEnded: () => leasesEnded,
    } as unknown as CacheInvalidationService;
    const stocks = new StocksService(db.getRepository(Stock), db.getRepository(TradeRecord), db, invalidation, metrics, config);
    observe = (name, requestId) => {
      // Not awaited: the lookup serves the trade only once its push is safe, after this call.
      // (A test that closes the database first records nothing.)
      void stocks
        .lookup(name)
        .then(async ({ quantity: served }) => {
          seenAtInvalidation.push({ stock: name, requestId, served, quantityInDb: await quantityInDb(db, name) });
        })
        .catch(() => undefined);
    };
    invalidate.mockImplementation(async (name, _volume, requestId) => {
      observe(name, requestId);
      return true;
    });
    await stocks.onApplicationBootstrap();
    return { stocks, db, metrics };
  }

  const buy = (stock_name: string, quantity: number, request_id?: string): CatalogTradeDto => ({ stock_name, type: 'buy', quantity, request_id });
  const sell = (stock_name: string, quantity: number, request_id?: string): CatalogTradeDto => ({ stock_name, type: 'sell', quantity, request_id });
  const stock = (name: string, quantity: number, trade_volume: number): StockInfo => ({
    stock_name: name,
    price: INITIAL_STOCKS.find((s) => s.name === name)?.price ?? NaN,
    quantity,
    trade_volume,
  });
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
  /** The next invalidation, once observed, waits until the returned function is called (a push under way). */
  const holdNextPush = (): (() => void) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    invalidate.mockImplementationOnce(async (name, _volume, requestId) => {
      observe(name, requestId);
      await held;
      return true;
    });
    return release;
  };
  /** The next push fails outright (its trade with it); returns what ends every lease granted so far. */
  const failNextPushOutright = (): (() => void) => {
    let ended!: () => void;
    leasesEnded = new Promise<void>((r) => (ended = r));
    invalidate.mockImplementationOnce(async () => {
      throw new Error('push failed');
    });
    return ended;
  };
  const until = async (condition: () => boolean | Promise<boolean>) => {
    while (!(await condition())) await new Promise((r) => setImmediate(r));
  };

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'catalog-stocks-'));
    invalidate = jest.fn<Invalidate>();
    seenAtInvalidation = [];
    fenced = false;
    fenceEnd = undefined;
    leasesEnded = Promise.resolve();
  });
  afterEach(async () => {
    for (const db of open.splice(0)) if (db.isInitialized) await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the catalog', () => {
    it('is seeded with Stock1…Stock10 on first start, listed sorted by name', async () => {
      const { stocks } = await start();
      expect((await stocks.list()).map((s) => s.stock_name)).toEqual(
        ['Stock1', 'Stock10', 'Stock2', 'Stock3', 'Stock4', 'Stock5', 'Stock6', 'Stock7', 'Stock8', 'Stock9'],
      );
      await expect(stocks.lookup('Stock3')).resolves.toEqual({ stock_name: 'Stock3', price: 29.99, quantity: 100, trade_volume: 0 });
    });

    it('answers an unknown stock (names are case-sensitive) with 404 Stock not found', async () => {
      const { stocks } = await start();
      for (const name of ['Stock11', 'stock1']) {
        const err = await failure(stocks.lookup(name));
        expect(err).toBeInstanceOf(StockNotFound);
        expect(err).toMatchObject({ status: 404, message: LookupMessages.stockNotFound });
      }
    });

    it('hands out copies: changing what it returned changes nothing', async () => {
      const { stocks } = await start();
      (await stocks.lookup('Stock1')).quantity = 0;
      (await stocks.list())[0].quantity = 0;
      await expect(stocks.lookup('Stock1')).resolves.toMatchObject({ quantity: 100 });
    });

    it('is not seeded again after a restart, and comes back as it was committed', async () => {
      const first = await start();
      await first.stocks.trade(buy('Stock1', 30, 'r1'));
      await first.stocks.trade(sell('Stock2', 20, 'r2'));
      await first.db.destroy();
      const { stocks, db } = await start();
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 70, 30));
      await expect(stocks.lookup('Stock2')).resolves.toEqual(stock('Stock2', 120, 20));
      expect(await db.query(`SELECT COUNT(*) AS "n" FROM "stocks"`)).toEqual([{ n: 10 }]);
    });
  });

  describe('a trade', () => {
    it('buy: takes the shares from the stock and adds them to its volume, in memory and in the database', async () => {
      const { stocks, db } = await start();
      await expect(stocks.trade(buy('Stock1', 30, 'r1'))).resolves.toMatchObject({ message: CatalogMessages.traded });
      await expect(stocks.trade({ stock_name: 'Stock1', type: 'BUY', quantity: 5, request_id: 'r2' })).resolves.toMatchObject({ message: CatalogMessages.traded });
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 65, 35));
      expect(await quantityInDb(db, 'Stock1')).toBe(65);
      expect(await db.query(`SELECT "trade_volume" FROM "stocks" WHERE "name" = 'Stock1'`)).toEqual([{ trade_volume: 35 }]);
      expect(await tradeRows(db)).toEqual([
        { request_id: 'r1', stock_name: 'Stock1', type: 'buy', quantity: 30, outcome: 'ok' },
        { request_id: 'r2', stock_name: 'Stock1', type: 'BUY', quantity: 5, outcome: 'ok' }, // the side as sent
      ]);
    });

    it('sell: adds the shares to the stock and to its volume', async () => {
      const { stocks, db } = await start();
      await stocks.trade(sell('Stock4', 50, 's1'));
      await expect(stocks.lookup('Stock4')).resolves.toEqual(stock('Stock4', 150, 50));
      expect(await quantityInDb(db, 'Stock4')).toBe(150);
    });

    it('buys the last share, but refuses one more than the stock holds (409, not enough shares) and changes nothing', async () => {
      const { stocks, db } = await start();
      await stocks.trade(buy('Stock1', 60, 'r1'));
      const err = await failure(stocks.trade(buy('Stock1', 41, 'r2')));
      expect(err).toBeInstanceOf(TradeRefused);
      expect(err).toMatchObject({ status: 409, message: CatalogMessages.tradeFailed });
      expect(reasonOf(err as TradeRefused)).toBe(TradeRefusalReason.notEnoughShares);
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 40, 60));
      expect(await quantityInDb(db, 'Stock1')).toBe(40);
      await stocks.trade(buy('Stock1', 40, 'r3'));
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 0, 100));
      expect((await tradeRows(db)).map((t) => [t.request_id, t.outcome])).toEqual([
        ['r1', 'ok'],
        ['r2', 'no_shares'],
        ['r3', 'ok'],
      ]);
    });

    it('refuses a sell past capacity (409, over capacity) and changes nothing', async () => {
      const { stocks, db } = await start();
      const err = await failure(stocks.trade(sell('Stock2', 51, 's1')));
      expect(err).toMatchObject({ status: 409, message: CatalogMessages.tradeFailed });
      expect(reasonOf(err as TradeRefused)).toBe(TradeRefusalReason.overCapacity);
      await expect(stocks.lookup('Stock2')).resolves.toEqual(stock('Stock2', 100, 0));
      expect(await quantityInDb(db, 'Stock2')).toBe(100);
      await expect(stocks.trade(sell('Stock2', 50, 's2'))).resolves.toMatchObject({ message: CatalogMessages.traded });
    });

    it('refuses an unknown stock with 404 Stock not found!, changes no stock, and binds its request id to that request', async () => {
      const { stocks, db } = await start();
      const err = await failure(stocks.trade(buy('Nope', 1, 'r1')));
      expect(err).toBeInstanceOf(StockNotFound);
      expect(err).toMatchObject({ status: 404, message: CatalogMessages.stockNotFound });
      expect((await tradeRows(db)).map((t) => [t.request_id, t.outcome])).toEqual([['r1', 'unknown']]);
      expect(invalidate).not.toHaveBeenCalled();
      // The same request again: the same 404. The id reused for a real stock: 422, nothing traded.
      await expect(stocks.trade(buy('Nope', 1, 'r1'))).rejects.toMatchObject({ status: 404, message: CatalogMessages.stockNotFound });
      await expect(stocks.trade(buy('Stock1', 1, 'r1'))).rejects.toMatchObject({ status: 422, code: IdempotencyRefusal.keyReused });
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 100, 0));
      // Without a request id there is nothing to bind, and nothing is recorded.
      await expect(stocks.trade({ stock_name: 'Nope', type: 'buy', quantity: 1 })).rejects.toBeInstanceOf(StockNotFound);
      expect(await tradeRows(db)).toHaveLength(1);
      // Only applied trades are listed for the order leader's reconciliation.
      expect(await stocks.appliedTrades(0, 10)).toEqual([]);
    });

    it('decides trades of one stock one after the other: two buys that fit only alone get one yes and one no', async () => {
      const { stocks } = await start();
      const outcomes = await Promise.allSettled([stocks.trade(buy('Stock5', 60, 'a')), stocks.trade(buy('Stock5', 60, 'b'))]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
      await expect(stocks.lookup('Stock5')).resolves.toEqual(stock('Stock5', 40, 60));
    });
  });

  describe('request ids (idempotency)', () => {
    it('answers a repeated request id for the same trade with its first outcome, without trading again', async () => {
      const { stocks, db, metrics } = await start();
      await stocks.trade(buy('Stock1', 10, 'r1'));
      await expect(stocks.trade({ stock_name: 'Stock1', type: 'Buy', quantity: 10, request_id: 'r1' })).resolves.toMatchObject({ message: CatalogMessages.traded });
      await stocks.trade(buy('Stock1', 200, 'big')).catch(() => undefined);
      const again = await failure(stocks.trade(buy('Stock1', 200, 'big')));
      expect(reasonOf(again as TradeRefused)).toBe(TradeRefusalReason.notEnoughShares); // a refusal replays with its reason
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 90, 10));
      expect((await tradeRows(db)).map((t) => t.request_id)).toEqual(['r1', 'big']);
      const counted = (await metrics.trades.get()).values.map((v) => [v.labels.outcome, v.value]);
      expect(counted).toEqual(expect.arrayContaining([['ok', 1], ['replayed', 2], ['refused', 1]]));
    });

    it('refuses a request id reused for another trade (422 key_reused) and trades nothing', async () => {
      const { stocks, db } = await start();
      await stocks.trade(buy('Stock1', 10, 'r1'));
      for (const other of [buy('Stock1', 11, 'r1'), sell('Stock1', 10, 'r1'), buy('Stock2', 10, 'r1')]) {
        await expect(stocks.trade(other)).rejects.toMatchObject({ status: 422, code: IdempotencyRefusal.keyReused, message: keyReusedMessage('r1') });
      }
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 90, 10));
      await expect(stocks.lookup('Stock2')).resolves.toEqual(stock('Stock2', 100, 0));
      expect(await tradeRows(db)).toHaveLength(1);
    });

    it('remembers request ids across a restart', async () => {
      const first = await start();
      await first.stocks.trade(buy('Stock1', 10, 'r1'));
      await first.db.destroy();
      const { stocks } = await start();
      await expect(stocks.trade(buy('Stock1', 10, 'r1'))).resolves.toMatchObject({ message: CatalogMessages.traded });
      await expect(stocks.trade(buy('Stock1', 12, 'r1'))).rejects.toMatchObject({ status: 422 });
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 90, 10));
    });
  });

  describe('a batch of trades', () => {
    /** Counts the transactions written on the data source's sqlite3 connection (each is one `BEGIN … COMMIT` script). */
    function countTransactions(db: DataSource): () => number {
      const connection = (db.driver as unknown as { databaseConnection: { exec: (sql: string, cb: (err: Error | null) => void) => void } })
        .databaseConnection;
      const exec = jest.spyOn(connection, 'exec');
      return () => exec.mock.calls.filter(([script]) => script.startsWith('BEGIN')).length;
    }

    it('decides its trades in order against each other, in one transaction, one result each', async () => {
      const { stocks, db } = await start();
      const transactions = countTransactions(db);
      const results = await stocks.tradeBatch([
        buy('Stock1', 60, 'b1'),
        buy('Stock1', 60, 'b2'), // only 40 left after b1
        sell('Stock1', 20, 'b3'),
        buy('Stock1', 60, 'b4'), // 60 after b3
        buy('Nope', 1, 'b5'),
        sell('Stock2', 51, 'b6'),
      ]);
      // Each success carries its stock as committed when it is answered: after the whole batch.
      const after = stock('Stock1', 0, 140);
      expect(results).toEqual([
        { status: 200, message: CatalogMessages.traded, stock: after },
        { status: 409, message: CatalogMessages.tradeFailed, reason: TradeRefusalReason.notEnoughShares },
        { status: 200, message: CatalogMessages.traded, stock: after },
        { status: 200, message: CatalogMessages.traded, stock: after },
        { status: 404, message: CatalogMessages.stockNotFound },
        { status: 409, message: CatalogMessages.tradeFailed, reason: TradeRefusalReason.overCapacity },
      ]);
      expect(transactions()).toBe(1);
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 0, 140));
      expect(await quantityInDb(db, 'Stock1')).toBe(0);
      expect((await tradeRows(db)).map((t) => [t.request_id, t.outcome])).toEqual([
        ['b1', 'ok'],
        ['b2', 'no_shares'],
        ['b3', 'ok'],
        ['b4', 'ok'],
        ['b5', 'unknown'],
        ['b6', 'capacity'],
      ]);
    });

    it('with a request id already recorded: replays it, refuses a reused one, applies the new ones once, and keeps nothing of the refused first attempt', async () => {
      const { stocks, db } = await start();
      await stocks.trade(buy('Stock1', 10, 'r1'));
      const results = await stocks.tradeBatch([buy('Stock2', 5, 'r2'), buy('Stock1', 10, 'r1'), sell('Stock1', 10, 'r1'), buy('Stock3', 101, 'r3')]);
      expect(results).toEqual([
        { status: 200, message: CatalogMessages.traded, stock: stock('Stock2', 95, 5) },
        { status: 200, message: CatalogMessages.traded, stock: stock('Stock1', 90, 10) },
        { status: 422, message: keyReusedMessage('r1'), code: IdempotencyRefusal.keyReused },
        { status: 409, message: CatalogMessages.tradeFailed, reason: TradeRefusalReason.notEnoughShares },
      ]);
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 90, 10));
      await expect(stocks.lookup('Stock2')).resolves.toEqual(stock('Stock2', 95, 5));
      expect(await quantityInDb(db, 'Stock2')).toBe(95);
      expect((await tradeRows(db)).map((t) => t.request_id)).toEqual(['r1', 'r2', 'r3']);
    });

    it('treats a request id repeated inside the batch like one already recorded', async () => {
      const { stocks } = await start();
      const results = await stocks.tradeBatch([buy('Stock1', 10, 'd'), buy('Stock1', 10, 'd'), buy('Stock1', 9, 'd')]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 422]);
      await expect(stocks.lookup('Stock1')).resolves.toEqual(stock('Stock1', 90, 10));
    });
  });

  describe('cache invalidation', () => {
    /**
     * Holds the next transaction (a `BEGIN … COMMIT` script) on the data source's sqlite3
     * connection until `commit()` runs it, or `fail(err)` fails it without running it.
     */
    function holdCommit(db: DataSource) {
      type Exec = (script: string, cb: (err: Error | null) => void) => unknown;
      const connection = (db.driver as unknown as { databaseConnection: { exec: Exec } }).databaseConnection;
      const original = connection.exec.bind(connection);
      let release!: (err: Error | null) => void;
      const gate = new Promise<Error | null>((r) => (release = r));
      let held = false;
      const exec = jest.spyOn(connection, 'exec').mockImplementation((script, cb) => {
        if (!script.startsWith('BEGIN')) return original(script, cb);
        held = true;
        exec.mockRestore();
        void gate.then((err) => (err ? cb(err) : original(script, cb)));
        return connection;
      });
      return { held: () => held, commit: () => release(null), fail: (err: Error) => release(err) };
    }
    /** Whether `p` has settled after pending callbacks and I/O have had their turn. */
    async function settled(p: Promise<unknown>): Promise<boolean> {
      let done = false;
      void p.then(
        () => (done = true),
        () => (done = true),
      );
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      return done;
    }

    it('is asked for, with the stock and the request id, as soon as the trade is decided: while its commit is still under way', async () => {
      const { stocks, db } = await start();
      const commit = holdCommit(db);
      invalidate.mockImplementationOnce(async () => true);
      const trade = stocks.trade(buy('Stock7', 30, 'r1'), 'req-abc');
      await until(() => invalidate.mock.calls.length > 0);
      expect(invalidate.mock.calls).toEqual([['Stock7', 30, 'req-abc']]); // the volume the trade takes Stock7 to
      expect(commit.held()).toBe(true);
      expect(await quantityInDb(db, 'Stock7')).toBe(100); // not committed yet
      expect(await settled(trade)).toBe(false); // the push is done, the commit is not: no acknowledgement
      commit.commit();
      await expect(trade).resolves.toMatchObject({ message: CatalogMessages.traded });
      expect(await quantityInDb(db, 'Stock7')).toBe(70);
    });

    it('holds the acknowledgement until the push is done too, when the commit finishes first; lookups and listings of the stock wait as well', async () => {
      const { stocks, db } = await start();
      const release = holdNextPush();
      const trade = stocks.trade(buy('Stock7', 30, 'r1'), 'req-abc');
      await until(async () => (await quantityInDb(db, 'Stock7')) === 70); // committed
      expect(await settled(trade)).toBe(false);
      // Committed, but not pushed to every front end yet: no read shows the trade, nor the stock from before it.
      const lookup = stocks.lookup('Stock7');
      const list = stocks.list();
      expect(await settled(lookup)).toBe(false);
      expect(await settled(list)).toBe(false);
      expect(seenAtInvalidation).toEqual([]);
      // Other stocks are answered at once.
      await expect(stocks.lookup('Stock8')).resolves.toEqual(stock('Stock8', 100, 0));
      release();
      await expect(trade).resolves.toEqual({ message: CatalogMessages.traded, stock: stock('Stock7', 70, 30) });
      await expect(lookup).resolves.toEqual(stock('Stock7', 70, 30));
      expect((await list).find((s) => s.stock_name === 'Stock7')).toEqual(stock('Stock7', 70, 30));
      // The lookup made at the push served the trade, which the database holds.
      await until(() => seenAtInvalidation.length > 0);
      expect(seenAtInvalidation).toEqual([{ stock: 'Stock7', requestId: 'req-abc', served: 70, quantityInDb: 70 }]);
    });

    it('takes a later push that is safe to cover the earlier changes: an earlier push still waiting out a lease holds neither a later trade nor reads', async () => {
      const { stocks, db } = await start();
      const releaseFirst = holdNextPush();
      const first = stocks.trade(buy('Stock7', 30, 'r1'));
      await until(() => invalidate.mock.calls.length === 1);
      // Held: the first trade's push, and reads of the stock meanwhile.
      const early = stocks.lookup('Stock7');
      expect(await settled(early)).toBe(false);
      // The second trade's push is done at once. It started after the first trade was committed, so
      // every front end that took it (or whose lease it waited out) holds nothing older: the
      // second trade and reads from then on show both trades, while the first push still waits.
      const second = stocks.trade(buy('Stock7', 5, 'r2'));
      await until(async () => (await quantityInDb(db, 'Stock7')) === 65); // both committed
      await expect(second).resolves.toEqual({ message: CatalogMessages.traded, stock: stock('Stock7', 65, 35) });
      await expect(stocks.lookup('Stock7')).resolves.toEqual(stock('Stock7', 65, 35));
      expect(await settled(first)).toBe(false);
      expect(await settled(early)).toBe(false); // its read (from before the second trade) waits for its own push
      releaseFirst();
      await expect(first).resolves.toEqual({ message: CatalogMessages.traded, stock: stock('Stock7', 70, 30) });
      await expect(early).resolves.toEqual(stock('Stock7', 70, 30));
    });

    it('answers a trade with the stock as its batch left it: never a later change whose push is under way', async () => {
      const { stocks, db } = await start();
      const releaseFirst = holdNextPush();
      const first = stocks.trade(buy('Stock7', 30, 'r1'));
      await until(() => invalidate.mock.calls.length === 1);
      const releaseSecond = holdNextPush();
      const second = stocks.trade(buy('Stock7', 5, 'r2'));
      await until(async () => (await quantityInDb(db, 'Stock7')) === 65); // both committed
      releaseFirst();
      // Not 65: the second trade is committed, but its push is not safe yet.
      await expect(first).resolves.toEqual({ message: CatalogMessages.traded, stock: stock('Stock7', 70, 30) });
      expect(await settled(second)).toBe(false);
      releaseSecond();
      await expect(second).resolves.toEqual({ message: CatalogMessages.traded, stock: stock('Stock7', 65, 35) });
    });

    it('serves no read during the start-up fence: front ends may hold stocks from before trades an earlier process committed', async () => {
      const { stocks } = await start();
      let over!: () => void;
      fenceEnd = new Promise<void>((r) => (over = r));
      const lookup = stocks.lookup('Stock1');
      const list = stocks.list();
      expect(await settled(lookup)).toBe(false);
      expect(await settled(list)).toBe(false);
      fenceEnd = undefined;
      over();
      await expect(lookup).resolves.toEqual(stock('Stock1', 100, 0));
      expect(await list).toHaveLength(10);
    });

    it('a push that failed outright holds reads of its stock until every lease granted so far has ended', async () => {
      const { stocks } = await start();
      const ended = failNextPushOutright();
      await expect(stocks.trade(buy('Stock1', 1, 'lost'))).rejects.toThrow('push failed');
      const lookup = stocks.lookup('Stock1');
      expect(await settled(lookup)).toBe(false);
      ended();
      await expect(lookup).resolves.toEqual(stock('Stock1', 99, 1));
    });

    it('is safe to push before the commit: a lookup of the stock made after the push waits for the commit and serves the trade', async () => {
      const { stocks, db } = await start();
      const commit = holdCommit(db);
      invalidate.mockImplementationOnce(async () => true);
      const trade = stocks.trade(buy('Stock7', 30, 'r1'));
      await until(() => invalidate.mock.calls.length > 0);
      const lookup = stocks.lookup('Stock7');
      const list = stocks.list();
      expect(await settled(lookup)).toBe(false); // not the 100 from before the trade
      expect(await settled(list)).toBe(false);
      commit.commit();
      await expect(lookup).resolves.toEqual(stock('Stock7', 70, 30));
      expect((await list).find((s) => s.stock_name === 'Stock7')).toEqual(stock('Stock7', 70, 30));
      await expect(trade).resolves.toMatchObject({ message: CatalogMessages.traded });
    });

    it('when the commit fails: fails the trade, and the waiting lookup serves the stock as still committed', async () => {
      const { stocks, db } = await start();
      const commit = holdCommit(db);
      invalidate.mockImplementationOnce(async () => true);
      const trade = failure(stocks.trade(buy('Stock7', 30, 'r1')));
      await until(() => invalidate.mock.calls.length > 0);
      const lookup = stocks.lookup('Stock7');
      expect(await settled(lookup)).toBe(false);
      const ioError = Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' });
      commit.fail(ioError);
      expect(await trade).toBe(ioError);
      await expect(lookup).resolves.toEqual(stock('Stock7', 100, 0));
      expect(await quantityInDb(db, 'Stock7')).toBe(100);
      expect(await tradeRows(db)).toEqual([]);
      // Nothing is left waiting: the next trade of the stock commits as usual.
      await expect(stocks.trade(buy('Stock7', 30, 'r1'))).resolves.toMatchObject({ message: CatalogMessages.traded });
      await expect(stocks.lookup('Stock7')).resolves.toEqual(stock('Stock7', 70, 30));
    });

    it('keeps no lookup of a stock the commit under way does not change waiting', async () => {
      const { stocks, db } = await start();
      const commit = holdCommit(db);
      invalidate.mockImplementationOnce(async () => true);
      const trade = stocks.tradeBatch([buy('Stock7', 30, 'r1'), buy('Stock8', 101, 'r2')]); // Stock8's is refused
      await until(() => invalidate.mock.calls.length > 0);
      expect(commit.held()).toBe(true);
      for (const name of ['Stock8', 'Stock9']) {
        const lookup = stocks.lookup(name);
        expect(await settled(lookup)).toBe(true);
        await expect(lookup).resolves.toEqual(stock(name, 100, 0));
      }
      const unknown = stocks.lookup('Nope');
      expect(await settled(unknown)).toBe(true);
      await expect(unknown).rejects.toBeInstanceOf(StockNotFound);
      commit.commit();
      await trade;
    });

    it('is asked for every applied trade of a batch (a replayed one too), never for a refused or unknown one', async () => {
      const { stocks } = await start();
      await stocks.trade(buy('Stock1', 1, 'old'));
      invalidate.mockClear();
      seenAtInvalidation = [];
      await stocks.tradeBatch([buy('Stock2', 5, 'a'), buy('Stock3', 101, 'b'), buy('Nope', 1, 'c'), buy('Stock1', 1, 'old'), sell('Stock4', 1, 'd')], 'req-batch');
      await until(() => seenAtInvalidation.length === 3);
      expect(invalidate.mock.calls).toEqual([
        ['Stock2', 5, 'req-batch'],
        // The replay, told by the first pass, which took it for a new trade: 2, above the 1 its own trade reached.
        ['Stock1', 2, 'req-batch'],
        ['Stock4', 1, 'req-batch'],
      ]);
      // A lookup made at each push served its trade, committed by then (the reads may finish in any order).
      expect(seenAtInvalidation.map((s) => [s.stock, s.served, s.quantityInDb]).sort()).toEqual([
        ['Stock1', 99, 99],
        ['Stock2', 95, 95],
        ['Stock4', 101, 101],
      ]);
    });
  });

  describe('appliedTrades (what the order leader reconciles)', () => {
    it('lists only applied trades, oldest first, after a sequence number and at most a limit', async () => {
      const { stocks } = await start();
      await stocks.tradeBatch([buy('Stock1', 1, 't1'), buy('Stock1', 500, 't2'), sell('Stock2', 3, 't3'), buy('Nope', 1, 't4'), { ...buy('Stock3', 2, 't5'), type: 'Buy' }]);
      const all = await stocks.appliedTrades(0, 10);
      expect(all.map((t) => [t.request_id, t.stock_name, t.type, t.quantity])).toEqual([
        ['t1', 'Stock1', 'buy', 1],
        ['t3', 'Stock2', 'sell', 3],
        ['t5', 'Stock3', 'Buy', 2],
      ]);
      expect(all.map((t) => t.seq)).toEqual([...all.map((t) => t.seq)].sort((a, b) => a - b));
      expect(await stocks.appliedTrades(all[0].seq, 1)).toEqual([all[1]]);
      expect(await stocks.appliedTrades(all[2].seq, 10)).toEqual([]);
    });

    const ids = (trades: { request_id: string }[]) => trades.map((t) => t.request_id);

    it('lists a trade only once its invalidation is safe, and ends the page before it rather than skip it', async () => {
      const { stocks, db } = await start();
      const release = holdNextPush();
      const first = stocks.trade(buy('Stock7', 30, 'r1'));
      await until(() => invalidate.mock.calls.length > 0);
      await stocks.trade(buy('Stock1', 1, 'r2'));
      // Both committed, the second acknowledged; the first's push to a front end is not safe yet.
      expect((await tradeRows(db)).map((r) => r.request_id)).toEqual(['r1', 'r2']);
      expect(await stocks.appliedTrades(0, 10)).toEqual([]);
      release();
      await first;
      expect(ids(await stocks.appliedTrades(0, 10))).toEqual(['r1', 'r2']);
    });

    it('keeps a replayed trade out of the listing while its repeated push is under way', async () => {
      const { stocks } = await start();
      await stocks.trade(buy('Stock7', 30, 'r1'));
      const release = holdNextPush();
      const replay = stocks.trade(buy('Stock7', 30, 'r1'));
      await until(() => invalidate.mock.calls.length === 2);
      expect(await stocks.appliedTrades(0, 10)).toEqual([]);
      release();
      await expect(replay).resolves.toMatchObject({ message: CatalogMessages.traded });
      expect(ids(await stocks.appliedTrades(0, 10))).toEqual(['r1']);
    });

    it('lists nothing during the start-up fence, while front ends may hold leases an earlier process granted', async () => {
      const { stocks } = await start();
      await stocks.trade(buy('Stock1', 1, 'before'));
      fenced = true;
      expect(await stocks.appliedTrades(0, 10)).toEqual([]);
      fenced = false;
      expect(ids(await stocks.appliedTrades(0, 10))).toEqual(['before']);
    });

    it('a push that failed outright keeps its trade unlisted until every lease granted so far has ended', async () => {
      const { stocks } = await start();
      const ended = failNextPushOutright();
      await expect(stocks.trade(buy('Stock1', 1, 'lost'))).rejects.toThrow('push failed');
      expect(await stocks.appliedTrades(0, 10)).toEqual([]);
      ended();
      await until(async () => (await stocks.appliedTrades(0, 10)).length > 0);
      expect(ids(await stocks.appliedTrades(0, 10))).toEqual(['lost']);
    });
  });
});
