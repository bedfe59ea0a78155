import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigModule } from '@nestjs/config';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OrderEnv, validateEnv } from '@app/contracts';
import { ORDER_MIGRATIONS } from '../migrations';
import { Order } from '../orders/order.entity';
import { DiskHealthService } from '../orders/disk-health.service';
import { OrderLogService } from '../orders/order-log.service';
import { ReplicaMeta } from '../orders/replica-meta.entity';
import { ClusterStateService } from './cluster-state.service';

/** Replica 1's state over a real SQLite file, so that a vote can be checked after a restart. */
describe('ClusterStateService: votes and leaders', () => {
  let dir: string;
  let moduleRef: TestingModule | undefined;

  /**
   * Replica 1 over the file in `dir`. A new file starts rejoining (it votes for no one until its
   * first recovery has heard its peers); unless `rejoining`, that is done here at once, as in a new
   * cluster whose peers all have new files.
   */
  async function open(rejoining = false): Promise<ClusterStateService> {
    await moduleRef?.close();
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, validate: () => validateEnv(OrderEnv, { ORDER_ID: '1' }) }),
        TypeOrmModule.forRoot({
          type: 'sqlite',
          database: join(dir, 'order-1.sqlite'),
          entities: [Order, ReplicaMeta],
          migrations: ORDER_MIGRATIONS,
          migrationsRun: true,
          logging: false,
        }),
        TypeOrmModule.forFeature([Order, ReplicaMeta]),
      ],
      providers: [DiskHealthService, OrderLogService, ClusterStateService],
    }).compile();
    await moduleRef.init();
    const state = moduleRef.get(ClusterStateService);
    if (!rejoining && state.replica.rejoining) await moduleRef.get(OrderLogService).exclusive(() => state.rejoinedUnderLock(0));
    return state;
  }

  /** Its file lost: the process stopped, the file and its journal deleted. */
  async function loseFile(): Promise<void> {
    await moduleRef?.close();
    moduleRef = undefined;
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(join(dir, `order-1.sqlite${suffix}`), { force: true });
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bazaar-vote-'));
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('its status says `checking_log` until the check of every entry against its checksum ran, and `vouched_through` from then', async () => {
    const state = await open();
    expect(state.status()).toMatchObject({ checking_log: true, vouched_through: 0 });
    await moduleRef!.get(OrderLogService).verifyChecksums();
    expect(state.status().checking_log).toBeUndefined();
  });

  it('grants an epoch to one of two candidates asking at once, and to the same one again', async () => {
    const state = await open();
    const answers = await Promise.all([state.grantVote(4, 2), state.grantVote(4, 3)]);
    expect(answers.filter(Boolean)).toHaveLength(1);
    const winner = answers[0] ? 2 : 3;
    expect(state.leaderId).toBe(winner);
    await expect(state.grantVote(4, winner)).resolves.toBe(true);
  });

  it('keeps its vote and its epoch across a restart: never backwards, never a second leader for one epoch', async () => {
    const first = await open();
    await expect(first.grantVote(7, 2)).resolves.toBe(true);
    const again = await open();
    expect({ epoch: again.epoch, leader: again.leaderId }).toEqual({ epoch: 7, leader: 2 });
    await expect(again.grantVote(7, 3)).resolves.toBe(false);
    await expect(again.grantVote(6, 3)).resolves.toBe(false);
    await expect(again.grantVote(8, 3)).resolves.toBe(true);
    expect(again.epoch).toBe(8);
  });

  it('started on a new or emptied file, votes for no one until it has rejoined, and then in no epoch its peers knew: it may have voted in it, or led it, before its file was lost', async () => {
    const first = await open();
    await expect(first.grantVote(4, 3)).resolves.toBe(true);
    await first.grantVote(5, 1); // and it led epoch 5 (its vote named itself), say
    await loseFile();

    const rebuilt = await open(true);
    expect(rebuilt.epoch).toBe(0);
    // Before the fix it granted these: a second vote in epoch 5 (for another candidate), and its own epoch 5 again.
    await expect(rebuilt.grantVote(5, 2)).resolves.toBe(false);
    await expect(rebuilt.grantVote(5, 1)).resolves.toBe(false);
    await expect(rebuilt.grantVote(9, 2)).resolves.toBe(false);
    expect(rebuilt.replica.rejoining).toBe(true);
    // A leader's sync still fences it (and its epoch is written), and a restart midway is still rejoining.
    await expect(rebuilt.acceptLeader(4, 3)).resolves.toBe(true);
    const again = await open(true);
    expect({ rejoining: again.replica.rejoining, epoch: again.epoch }).toEqual({ rejoining: true, epoch: 4 });
    await expect(again.grantVote(5, 2)).resolves.toBe(false);

    // Its first recovery heard its peers: epoch 5 is the newest they know. Adopted with no vote, durably.
    await moduleRef!.get(OrderLogService).exclusive(() => again.rejoinedUnderLock(5));
    expect({ rejoining: again.replica.rejoining, epoch: again.epoch, votedFor: again.replica.votedFor }).toEqual({ rejoining: false, epoch: 5, votedFor: null });
    await expect(again.grantVote(5, 2)).resolves.toBe(false);
    await expect(again.grantVote(5, 1)).resolves.toBe(false);
    const restarted = await open(true);
    expect({ rejoining: restarted.replica.rejoining, epoch: restarted.epoch }).toEqual({ rejoining: false, epoch: 5 });
    await expect(restarted.grantVote(5, 2)).resolves.toBe(false);
    await expect(restarted.grantVote(6, 2)).resolves.toBe(true);
  });

  it('as leader, tells each new order its entry once numbered, and refuses (without a number) an order of an epoch it does not lead', async () => {
    const state = await open();
    await state.grantVote(1, 1);
    state.replica.follow();
    state.replica.beginPromotion(1);
    state.replica.becomeLeader(1);
    const order = (request_id: string) => ({ request_id, stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    const numbered: [string, number][] = [];
    const tell = (record: { request_id: string; order_no: number }) => numbered.push([record.request_id, record.order_no]);
    const [a, stale, b] = await Promise.allSettled([
      state.appendAsLeader(1, order('a'), tell),
      state.appendAsLeader(0, order('old'), tell),
      state.appendAsLeader(1, order('b'), tell),
    ]);
    expect(a).toEqual({ status: 'fulfilled', value: { record: expect.objectContaining({ request_id: 'a', order_no: 1 }), created: true } });
    expect(stale).toEqual({ status: 'rejected', reason: expect.objectContaining({ status: 503, code: 'not_leader' }) });
    expect(b).toEqual({ status: 'fulfilled', value: { record: expect.objectContaining({ request_id: 'b', order_no: 2 }), created: true } });
    expect(numbered).toEqual([['a', 1], ['b', 2]]);
  });

  it('begins a promotion once, durably: `led_epoch` is on disk before it promotes, and neither a step-down nor a restart lets it lead that epoch again', async () => {
    const state = await open();
    await state.grantVote(2, 1);
    state.replica.follow();
    const log = moduleRef!.get(OrderLogService);
    const written: number[] = [];
    const append = log.append.bind(log);
    jest.spyOn(log, 'append').mockImplementation(async (orders, meta) => {
      await append(orders, meta);
      if (meta?.led_epoch !== undefined) written.push(meta.led_epoch);
      // Written before the role changes: a crash right after leaves it refusing this epoch.
      expect(state.role).toBe('follower');
    });
    // The same announcement twice at once (two front ends): one begins it.
    await expect(Promise.all([state.beginPromotion(2), state.beginPromotion(2)])).resolves.toEqual(['begun', 'known']);
    expect(written).toEqual([2]);
    expect(state.role).toBe('promoting');
    state.replica.stepDown();
    state.replica.follow();
    await expect(state.beginPromotion(2)).resolves.toBe('refused');

    const again = await open();
    expect(again.replica.votedFor).toBe(1);
    again.replica.follow();
    await expect(again.beginPromotion(2)).resolves.toBe('refused');
    await again.grantVote(3, 1);
    await expect(again.beginPromotion(3)).resolves.toBe('begun');
  });

  it('takes a file written before `led_epoch` was kept, whose vote names itself, as having led that epoch', async () => {
    const state = await open();
    await state.grantVote(5, 1); // epoch 5 and a vote for itself: it may have led it
    const again = await open();
    again.replica.follow();
    await expect(again.beginPromotion(5)).resolves.toBe('refused');
    await again.grantVote(6, 2); // a vote for another candidate says nothing of leading
    const third = await open();
    third.replica.follow();
    await third.grantVote(7, 1);
    await expect(third.beginPromotion(7)).resolves.toBe('begun');
  });

  it('a deposed leader hears of it once', async () => {
    const state = await open();
    const deposed: number[] = [];
    state.deposed$.subscribe(({ leader }) => deposed.push(leader));
    await state.grantVote(1, 1);
    state.replica.follow();
    state.replica.beginPromotion(1);
    state.replica.becomeLeader(1);
    await Promise.all([state.grantVote(2, 2), state.grantVote(2, 2)]);
    expect(deposed).toEqual([2]);
  });

  it('applies the syncs of the leader that won an epoch its own vote went to another candidate for, and keeps that after a restart', async () => {
    // Two front ends handed epoch 4 to candidates 1 and 2; this replica (1) voted for itself, and 2
    // won with replica 3's vote. Its syncs must be accepted, or replica 1 would stay behind for good.
    const state = await open();
    await state.grantVote(3, 3);
    state.replica.follow();
    await expect(state.grantVote(4, 1)).resolves.toBe(true);
    state.replica.beginPromotion(4);
    const deposed: number[] = [];
    state.deposed$.subscribe(({ leader }) => deposed.push(leader));
    await expect(state.acceptLeader(4, 2)).resolves.toBe(true);
    expect(deposed).toEqual([2]);
    expect({ epoch: state.epoch, leader: state.leaderId, votedFor: state.replica.votedFor }).toEqual({ epoch: 4, leader: 2, votedFor: 1 });
    await expect(state.grantVote(4, 2)).resolves.toBe(false); // one vote per epoch, still
    await expect(state.acceptLeader(3, 3)).resolves.toBe(false); // fencing: an older epoch's leader

    const again = await open();
    expect({ epoch: again.epoch, leader: again.leaderId, votedFor: again.replica.votedFor }).toEqual({ epoch: 4, leader: 2, votedFor: 1 });
    await expect(again.acceptLeader(4, 2)).resolves.toBe(true);
    await expect(again.acceptLeader(5, 3)).resolves.toBe(true);
    expect({ epoch: again.epoch, leader: again.leaderId, votedFor: again.replica.votedFor }).toEqual({ epoch: 5, leader: 3, votedFor: 3 });
  });
});
