import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { OrderEnv, orderChecksum, OrderLogPage, OrderRecordDto, ReplicaAddress, validateEnv } from '@app/contracts';
import { InvalidInput, openInMemorySqlite } from '@app/common';
import { logEntry } from '@app/testkit/fixtures';
import { PeersClient } from '../cluster/peers.client';
import { ORDER_MIGRATIONS } from '../migrations';
import { Order } from '../orders/order.entity';
import { DiskHealthService } from '../orders/disk-health.service';
import { CommittedEntryConflict, OrderLogService } from '../orders/order-log.service';
import { ReplicaMeta } from '../orders/replica-meta.entity';
import { CatchUpService, SourceChanged } from './catch-up.service';

const PAGE = 2;
const source: ReplicaAddress = { id: 3, url: 'http://replica-3' };

const range = (from: number, to: number, epoch = 1, tag = 'a') => Array.from({ length: to - from + 1 }, (_, i) => logEntry(from + i, epoch, tag));

/**
 * This replica's log is a real OrderLogService on in-memory SQLite; the source replica is a fake
 * PeersClient serving pages of an array (`theirs`) and recording what it was asked.
 */
describe('CatchUpService', () => {
  let db: DataSource;
  let log: OrderLogService;
  let catchUp: CatchUpService;
  let theirs: OrderRecordDto[];
  /** The `after` of every page asked for. */
  let asked: number[];
  /** Runs before a page is served (a test's way to act between pages). */
  let beforePage: (after: number) => Promise<void>;
  let peers: PeersClient;
  let config: ConfigService<OrderEnv, true>;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(async () => {
    db = await openInMemorySqlite([Order, ReplicaMeta], ORDER_MIGRATIONS);
    config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '1', CATCH_UP_PAGE_SIZE: String(PAGE) })) as unknown as ConfigService<OrderEnv, true>;
    log = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, new DiskHealthService(config), config);
    await log.onModuleInit();
    theirs = [];
    asked = [];
    beforePage = async () => undefined;
    peers = {
      logPage: async (peer: ReplicaAddress, after: number, limit: number): Promise<OrderLogPage> => {
        expect(peer).toBe(source);
        asked.push(after);
        await beforePage(after);
        const last = theirs[theirs.length - 1];
        const prev = after > 0 ? (theirs.find((o) => o.order_no === after) ?? null) : null;
        return { orders: theirs.filter((o) => o.order_no > after).slice(0, limit), last_no: last?.order_no ?? 0, prev };
      },
    } as unknown as PeersClient;
    catchUp = new CatchUpService(log, peers, config);
  });

  afterEach(async () => {
    log.onModuleDestroy();
    await db.destroy();
  });

  const mine = () => log.page(0, 1000);
  const catchUpFrom = (dropBeyondSource: boolean, verifyAfter?: number) => log.exclusive(() => catchUp.catchUpFrom(source, dropBeyondSource, verifyAfter));

  describe('catchUpFrom (the caller holds the log lock)', () => {
    it('fetches a missing tail in pages and keeps identical entries without dropping them', async () => {
      await log.append(range(1, 3));
      theirs = range(1, 8);
      const truncate = jest.spyOn(log, 'truncateFrom');
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 5, dropped: 0 });
      expect(await mine()).toEqual(theirs);
      expect(truncate).not.toHaveBeenCalled();
      // Pages of 2 from the start point 0: 1–2, 3–4, 5–6, 7–8, then an empty one ends it.
      expect(asked).toEqual([0, 2, 4, 6, 8]);
      expect(catchUp.remaining).toBe(0);
      expect(catchUp.totals).toEqual({ fetched: 5, dropped: 0 });
    });

    it('stops at the first page shorter than a full one', async () => {
      theirs = range(1, 5);
      await catchUpFrom(false);
      expect(asked).toEqual([0, 2, 4]);
      expect(await mine()).toEqual(theirs);
    });

    it('drops its tail from the first entry that differs and applies the source entries from there', async () => {
      // 1–2 are shared; 3–5 were written by a leader (epoch 1) that crashed before replicating them.
      await log.append([...range(1, 2), ...range(3, 5, 1, 'lost')]);
      theirs = [...range(1, 2), ...range(3, 4, 2, 'new')];
      await expect(catchUpFrom(false)).resolves.toEqual({ fetched: 2, dropped: 3 });
      expect(await mine()).toEqual(theirs);
      expect(log.lastPosition()).toEqual({ order_no: 4, epoch: 2 });
    });

    it('keeps an order the source stamped with a newer epoch, and takes the stamp (nothing dropped or fetched)', async () => {
      await log.append(range(1, 3, 1));
      theirs = [...range(1, 2, 1), logEntry(3, 2)]; // the same order, stamped by the leader of epoch 2 (see OrderLogService.restamp)
      const truncate = jest.spyOn(log, 'truncateFrom');
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(await log.find(3)).toEqual(logEntry(3, 2));
      expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 2 });
      expect(truncate).not.toHaveBeenCalled();
    });

    it('takes the source\'s copy of an order it holds written at another time (two leaders logged it): the logs end identical, checksums included', async () => {
      const copy = (e: OrderRecordDto, at = e.created_at!) => ({ ...e, created_at: at, checksum: orderChecksum({ ...e, created_at: at }) });
      await log.append([copy(logEntry(1, 1)), copy(logEntry(2, 1)), copy(logEntry(3, 1))]);
      theirs = [copy(logEntry(1, 1)), copy(logEntry(2, 1), logEntry(2).created_at! + 5000), copy(logEntry(3, 2), logEntry(3).created_at! + 5000)];
      const truncate = jest.spyOn(log, 'truncateFrom');
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(await mine()).toEqual(theirs);
      expect(truncate).not.toHaveBeenCalled();
    });

    it('takes the source\'s checksum for an own copy written before checksums; a source\'s copy without one changes nothing', async () => {
      const copy = (e: OrderRecordDto) => ({ ...e, checksum: orderChecksum(e) });
      await log.append([logEntry(1, 1), copy(logEntry(2, 1))]);
      theirs = [copy(logEntry(1, 1)), logEntry(2, 1)];
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(await mine()).toEqual([copy(logEntry(1, 1)), copy(logEntry(2, 1))]);
    });

    it('drops its entries past a page that are stamped older than the page\'s last, at that page: a catch-up stopped after it leaves no older stamp after a newer one', async () => {
      // 4–5 (epoch 1) reached no majority; the leader of epoch 2 inherited 1–3 and stamped 3 as its own.
      await log.append([...range(1, 3, 1), ...range(4, 5, 1, 'lost')], { commit_no: 2 });
      theirs = [...range(1, 2, 1), logEntry(3, 2), ...range(4, 5, 2, 'new')];
      beforePage = async (after) => {
        if (after === 3) throw new Error('source stopped answering');
      };
      await expect(catchUpFrom(true)).rejects.toThrow('source stopped answering');
      expect(await mine()).toEqual(theirs.slice(0, 3));
      expect(log.lastPosition()).toEqual({ order_no: 3, epoch: 2 });
    });

    it('tells apart two orders under one request id: another stock, side, quantity or key is another entry', async () => {
      const variants: Partial<OrderRecordDto>[] = [{ stock_name: 'Stock2' }, { trade_type: 'sell' }, { quantity: 99 }, { idempotency_key: 'other-key' }];
      for (const variant of variants) {
        await log.exclusive(() => log.truncateFrom(1));
        await log.append(range(1, 3, 1));
        theirs = [...range(1, 2, 1), { ...logEntry(3, 2), ...variant }];
        await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 1, dropped: 1 });
        expect(await log.find(3)).toEqual({ ...logEntry(3, 2), ...variant });
      }
    });

    it('with dropBeyondSource, drops entries past the source last one; without, keeps them', async () => {
      await log.append(range(1, 5));
      theirs = range(1, 3);
      await expect(catchUpFrom(false)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(log.lastPosition().order_no).toBe(5);
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 2 });
      expect(await mine()).toEqual(theirs);
    });

    it('with dropBeyondSource and an empty source, drops everything above the commit point', async () => {
      await log.append(range(1, 4), { commit_no: 2 });
      theirs = [];
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 2 });
      expect(await mine()).toEqual(range(1, 2));
    });

    it('starts comparing at the commit point\'s own entry: the entries below it are final and not fetched again', async () => {
      await log.append(range(1, 5), { commit_no: 3 });
      theirs = [...range(1, 2, 1, 'never-compared'), ...range(3, 6)];
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 1, dropped: 0 });
      expect(asked[0]).toBe(2);
      expect(await mine()).toEqual(range(1, 6));
    });

    it('takes the source\'s stamp of its commit point\'s own entry: a paused leader\'s last commit, stamped by a new leader that did not know of it', async () => {
      await log.append(range(1, 3, 1), { commit_no: 3 });
      theirs = [...range(1, 2, 1), logEntry(3, 2), logEntry(4, 2)];
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 1, dropped: 0 });
      expect(await mine()).toEqual(theirs);
    });

    it('starts at its last entry when the commit point it learnt is beyond its log', async () => {
      await log.append(range(1, 2), { commit_no: 9 });
      theirs = range(1, 4);
      await catchUpFrom(true);
      expect(asked[0]).toBe(1);
      expect(await mine()).toEqual(theirs);
    });

    it('never drops committed entries the source does not have: it starts after them, or (verifying) refuses with 503', async () => {
      await log.append(range(1, 5), { commit_no: 5 });
      theirs = range(1, 3);
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(asked).toEqual([4]);
      await expect(catchUpFrom(true, 0)).rejects.toBeInstanceOf(CommittedEntryConflict);
      expect(await mine()).toEqual(range(1, 5));
    });

    it('verifying the whole log (a restart) compares from the first entry and keeps identical committed ones', async () => {
      await log.append(range(1, 4), { commit_no: 3 });
      theirs = range(1, 6);
      await expect(catchUpFrom(true, 0)).resolves.toEqual({ fetched: 2, dropped: 0 });
      expect(asked[0]).toBe(0);
      expect(await mine()).toEqual(theirs);
    });

    it('verifying the whole log, takes a newer stamp of committed orders rather than refusing them', async () => {
      await log.append(range(1, 4, 1), { commit_no: 4 });
      // A leader of epoch 3 that had not learnt the commit point beyond 1 stamped 4, the last entry
      // it inherited, as its own.
      theirs = [...range(1, 3, 1), ...range(4, 5, 3)];
      await expect(catchUpFrom(true, 0)).resolves.toEqual({ fetched: 1, dropped: 0 });
      expect(await mine()).toEqual(theirs);
      expect(log.lastPosition()).toEqual({ order_no: 5, epoch: 3 });
    });

    it('verifying the whole log, refuses (503) a committed order whose content differs under the same request id and stamp (a damaged file)', async () => {
      await log.append([logEntry(1), { ...logEntry(2), quantity: 52 }, ...range(3, 4)], { commit_no: 3 });
      theirs = range(1, 4);
      await expect(catchUpFrom(true, 0)).rejects.toBeInstanceOf(CommittedEntryConflict);
      expect(await log.find(2)).toEqual({ ...logEntry(2), quantity: 52 });
    });

    it('verifying the whole log, refuses (503) to replace a committed entry that differs, and changes nothing', async () => {
      await log.append(range(1, 4), { commit_no: 3 });
      theirs = [logEntry(1), logEntry(2, 1, 'other'), ...range(3, 4)];
      await expect(catchUpFrom(true, 0)).rejects.toMatchObject({ status: 503, code: 'not_ready' });
      expect(await mine()).toEqual(range(1, 4));
      // Without verification the same source is not compared below the commit point.
      await expect(catchUpFrom(true)).resolves.toEqual({ fetched: 0, dropped: 0 });
    });

    it('verifying after a number (a restart whose older entries their checksums vouch for) reads from there or from just below the commit point, whichever is lower', async () => {
      await log.append(range(1, 6), { commit_no: 5 });
      theirs = range(1, 8);
      await expect(catchUpFrom(true, 2)).resolves.toEqual({ fetched: 2, dropped: 0 });
      expect(asked[0]).toBe(2);
      asked = [];
      // Vouched for beyond the commit point: comparison still begins just below it (the stamps there may have changed).
      await expect(catchUpFrom(true, 8)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(asked[0]).toBe(4);
    });

    it('verifying after a number, refuses (503) to replace a committed entry after it that differs, and reads nothing at or below it', async () => {
      await log.append(range(1, 6), { commit_no: 5 });
      theirs = [...range(1, 3), logEntry(4, 1, 'other'), ...range(5, 6)];
      await expect(catchUpFrom(true, 2)).rejects.toBeInstanceOf(CommittedEntryConflict);
      expect(asked[0]).toBe(2);
      expect(await mine()).toEqual(range(1, 6));
      // A difference at or below that number is not looked for.
      theirs = [logEntry(1, 1, 'other'), ...range(2, 6)];
      asked = [];
      await expect(catchUpFrom(true, 2)).resolves.toEqual({ fetched: 0, dropped: 0 });
      expect(asked.every((after) => after >= 2)).toBe(true);
    });

    it('reports how much is left to fetch while it runs', async () => {
      theirs = range(1, 5);
      const remaining: number[] = [];
      const append = log.append.bind(log);
      // As each page is written: what was left as of the page before.
      jest.spyOn(log, 'append').mockImplementation((orders, meta) => {
        remaining.push(catchUp.remaining);
        return append(orders, meta);
      });
      await catchUpFrom(false);
      expect(remaining).toEqual([0, 3, 1]);
      expect(catchUp.remaining).toBe(0);
    });
  });

  describe('checksums', () => {
    const summed = (from: number, to: number) => range(from, to).map((e) => ({ ...e, checksum: orderChecksum(e) }));

    it('an entry of the source\'s page that does not match its checksum: refused (400) before anything of the page is applied', async () => {
      await log.append([...range(1, 2), logEntry(3, 1, 'old')]);
      const before = await mine();
      theirs = summed(1, 4);
      theirs[3] = { ...theirs[3], quantity: 99 };
      await expect(catchUpFrom(true)).rejects.toBeInstanceOf(InvalidInput);
      // Its divergent entry 3 is not dropped for it; 1–2, written before checksums, took the first page's copies.
      expect(await mine()).toEqual([...summed(1, 2), before[2]]);
    });

    it('an entry of its own that does not match its checksum, above the commit point: the source\'s copy takes its place, with the tail after it; at or below it, refused', async () => {
      await log.append(summed(1, 4), { commit_no: 2 });
      await db.query('UPDATE "orders" SET "quantity" = 50 WHERE "order_no" = 3');
      // Read from the file, as after a restart (a new service's memory holds no entry).
      const restarted = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, new DiskHealthService(config), config);
      await restarted.load();
      const again = new CatchUpService(restarted, peers, config);
      theirs = summed(1, 5);
      expect(await restarted.exclusive(() => again.catchUpFrom(source, true))).toEqual({ fetched: 3, dropped: 2 });
      expect(await restarted.page(0, 10)).toEqual(theirs);
      expect(restarted.damagedEntries()).toEqual([]);

      await db.query('UPDATE "orders" SET "quantity" = 50 WHERE "order_no" = 2');
      const third = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, new DiskHealthService(config), config);
      await third.load();
      await expect(third.exclusive(() => new CatchUpService(third, peers, config).catchUpFrom(source, true, 0))).rejects.toBeInstanceOf(CommittedEntryConflict);
      expect(third.damagedEntries()).toEqual([2]);
    });
  });

  it('an own entry above the commit point that lost its checksum after it was vouched for: found on a read, and the source\'s copy takes its place (also after a check at start took it for one written before checksums)', async () => {
    const summed = (from: number, to: number) => range(from, to).map((e) => ({ ...e, checksum: orderChecksum(e) }));
    await log.append(summed(1, 4), { commit_no: 2 });
    // Read from the file, as after a restart (a new service's memory holds no entry).
    const restarted = new OrderLogService(db.getRepository(Order), db.getRepository(ReplicaMeta), db, new DiskHealthService(config), config);
    await restarted.load();
    await restarted.verifyChecksums();
    await db.query('UPDATE "orders" SET "checksum" = NULL WHERE "order_no" = 3');
    await expect(restarted.find(3)).rejects.toThrow('order 3');
    await restarted.verifyChecksums(); // vouches through 2 now: order 3 reads as one written before checksums
    theirs = summed(1, 5);
    await restarted.exclusive(() => new CatchUpService(restarted, peers, config).catchUpFrom(source, true));
    expect(restarted.damagedEntries()).toEqual([]);
    expect(await restarted.page(0, 10)).toEqual(theirs);
  });

  describe('a source whose log changes between two pages', () => {
    it('stops (503) when a page does not continue the one before, having applied a prefix of the source\'s log as it was', async () => {
      theirs = range(1, 6, 1, 'old');
      beforePage = async (after) => {
        // After the first page: a new leader cut the source's tail from 2 and wrote other orders there.
        if (after === 2) theirs = [logEntry(1, 1, 'old'), ...range(2, 6, 2, 'new')];
      };
      await expect(catchUpFrom(true)).rejects.toBeInstanceOf(SourceChanged);
      expect(await mine()).toEqual(range(1, 2, 1, 'old'));
      // The next catch-up starts over and ends equal to the source.
      beforePage = async () => undefined;
      await catchUpFrom(true);
      expect(await mine()).toEqual(theirs);
    });

    it('stops too when the boundary\'s order is the same under a newer stamp: the orders before it may be others (a retried trade numbered again at the same place)', async () => {
      // The old tail: A at 1 and B at 2 (epoch 1). A new leader (epoch 2) dropped A, took C at 1,
      // and the retry of B landed at 2 again. The first page ended at B under epoch 1.
      const b = (epoch: number) => ({ ...logEntry(2, epoch, 'B'), request_id: 'req-B', idempotency_key: 'req-B' });
      theirs = [logEntry(1, 1, 'A'), b(1), ...range(3, 6, 1, 'old')];
      beforePage = async (after) => {
        if (after === 2) theirs = [logEntry(1, 2, 'C'), b(2), ...range(3, 6, 2, 'new')];
      };
      await expect(catchUpFrom(true)).rejects.toBeInstanceOf(SourceChanged);
      expect(await mine()).toEqual([logEntry(1, 1, 'A'), b(1)]);
      // Started over, it ends equal to the source: C at 1, not A.
      beforePage = async () => undefined;
      await catchUpFrom(true);
      expect(await mine()).toEqual(theirs);
    });

    it('starts over when only the stamps changed (a new leader\'s epoch on the same orders), and then ends equal to the source', async () => {
      theirs = range(1, 6, 1);
      beforePage = async (after) => {
        if (after === 2) theirs = range(1, 6, 2);
      };
      await expect(catchUpFrom(true)).rejects.toBeInstanceOf(SourceChanged);
      beforePage = async () => undefined;
      await catchUpFrom(true);
      expect(await mine()).toEqual(theirs);
    });

    it('a follower\'s repair stops the same way', async () => {
      theirs = range(1, 6, 1, 'old');
      beforePage = async (after) => {
        if (after === 2) theirs = [logEntry(1, 1, 'old'), ...range(2, 6, 2, 'new')];
      };
      await expect(catchUp.repairFrom(source, () => true)).rejects.toBeInstanceOf(SourceChanged);
      expect(await mine()).toEqual(range(1, 2, 1, 'old'));
    });
  });

  it('fetches the next page while it writes this one', async () => {
    theirs = range(1, 6);
    const events: string[] = [];
    beforePage = async (after) => void events.push(`fetch after ${after}`);
    const append = log.append.bind(log);
    jest.spyOn(log, 'append').mockImplementation((orders, meta) => {
      events.push(`write ${orders.map((o) => o.order_no).join(',')}`);
      return append(orders, meta);
    });
    await catchUpFrom(false);
    expect(events).toEqual(['fetch after 0', 'fetch after 2', 'write 1,2', 'fetch after 4', 'write 3,4', 'fetch after 6', 'write 5,6']);
    expect(await mine()).toEqual(theirs);
  });

  describe('repairFrom (a follower filling a gap without holding the lock while it fetches)', () => {
    it('applies each page under the lock and ends up equal to the leader', async () => {
      await log.append(range(1, 2));
      theirs = [...range(1, 2), ...range(3, 7, 2)];
      const lockFree: boolean[] = [];
      beforePage = async () => {
        // Another writer gets the lock while a page is being fetched: the lock is not held.
        lockFree.push(await Promise.race([log.exclusive(async () => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref())]));
      };
      await expect(catchUp.repairFrom(source, () => true)).resolves.toEqual({ fetched: 5, dropped: 0 });
      expect(lockFree.every(Boolean)).toBe(true);
      expect(await mine()).toEqual(theirs);
    });

    it('stops, applying nothing more, once its epoch is no longer the current one', async () => {
      theirs = range(1, 6, 2);
      let epoch = 2;
      beforePage = async (after) => {
        // A newer leader took over after the first page was written (the third page is fetched
        // while the second is written).
        if (after === 4) epoch = 3;
      };
      await expect(catchUp.repairFrom(source, () => epoch === 2)).resolves.toEqual({ fetched: 2, dropped: 0 });
      expect(await mine()).toEqual(range(1, 2, 2));
      expect(asked).toEqual([0, 2, 4]);
    });

    it('calls onConflict, while it still holds the log lock, for a page that would replace a committed entry, and rejects with that conflict', async () => {
      await log.append([...range(1, 2), ...range(3, 3, 1, 'mine')], { commit_no: 3 });
      theirs = [...range(1, 2), ...range(3, 5, 1, 'theirs')];
      const lock = (log as unknown as { lock: { isLocked(): boolean } }).lock;
      const seen: [number, boolean][] = [];
      const repair = catchUp.repairFrom(source, () => true, (conflict) => seen.push([conflict.orderNo, lock.isLocked()]));
      await expect(repair).rejects.toBeInstanceOf(CommittedEntryConflict);
      // Held: the caller stops following before any other writer (a sync queued behind) runs.
      expect(seen).toEqual([[3, true]]);
      expect((await mine()).map((o) => o.request_id)).toEqual(['a-1', 'a-2', 'mine-3']);
    });

    it('does not apply a page that would leave a gap (the log got shorter meanwhile)', async () => {
      await log.append(range(1, 2));
      theirs = range(1, 6);
      beforePage = async (after) => {
        // Another writer drops 3–4 after they were written, before 5–6 are (fetched meanwhile).
        if (after === 6) await log.exclusive(() => log.truncateFrom(3));
      };
      await expect(catchUp.repairFrom(source, () => true)).resolves.toEqual({ fetched: 2, dropped: 0 });
      // 5–6 would have followed 2: not applied, so the log has no hole.
      expect(asked).toEqual([0, 2, 4, 6]);
      expect(await mine()).toEqual(range(1, 2));
      expect(log.lastPosition().order_no).toBe(2);
    });
  });

  describe('differencesWith (a comparison with a replica as advanced as this one)', () => {
    it('compares through the given order only, in pages, changing nothing: another stamp is the same order, another order is a difference', async () => {
      await log.append([...range(1, 2), logEntry(3, 1, 'mine'), ...range(4, 6)]);
      theirs = [...range(1, 2, 2), logEntry(3, 1, 'theirs'), ...range(4, 5), logEntry(6, 1, 'past')];
      const before = await mine();
      await expect(catchUp.differencesWith(source, 0, 5)).resolves.toEqual([3]);
      // Pages of 2 from the first entry (each one fetched while the one before is compared), up to order 5: order 6 is not compared.
      expect(asked).toEqual([0, 2, 4, 6]);
      expect(await mine()).toEqual(before);
    });

    it('compares only after the given order, and asks nothing when that is the last one', async () => {
      await log.append([logEntry(1, 1, 'mine'), ...range(2, 3), logEntry(4, 1, 'mine'), ...range(5, 6)]);
      theirs = range(1, 6);
      await expect(catchUp.differencesWith(source, 2, 6)).resolves.toEqual([4]);
      expect(asked[0]).toBe(2);
      asked = [];
      await expect(catchUp.differencesWith(source, 6, 6)).resolves.toEqual([]);
      expect(asked).toEqual([]);
    });

    it('stops at `max` differences, finds none in an equal log, and refuses when the source\'s log ends too soon', async () => {
      await log.append(range(1, 6));
      theirs = range(1, 6, 1, 'other');
      await expect(catchUp.differencesWith(source, 0, 6, 3)).resolves.toEqual([1, 2, 3]);
      theirs = range(1, 6);
      await expect(catchUp.differencesWith(source, 0, 6)).resolves.toEqual([]);
      theirs = range(1, 3);
      await expect(catchUp.differencesWith(source, 0, 5)).rejects.toThrow('the log of replica 3 ends at order 3, before order 5: nothing to compare');
    });
  });
});
