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
describe('ClusterStateService.observeEpoch (the vote)', () => {
  let dir: string;
  let moduleRef: TestingModule | undefined;

  async function open(): Promise<ClusterStateService> {
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
    return moduleRef.get(ClusterStateService);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bazaar-vote-'));
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants an epoch to one of two candidates asking at once, and to the same one again', async () => {
    const state = await open();
    const answers = await Promise.all([state.observeEpoch(4, 2), state.observeEpoch(4, 3)]);
    expect(answers.filter(Boolean)).toHaveLength(1);
    const winner = answers[0] ? 2 : 3;
    expect(state.leaderId).toBe(winner);
    await expect(state.observeEpoch(4, winner)).resolves.toBe(true);
  });

  it('keeps its vote and its epoch across a restart: never backwards, never a second leader for one epoch', async () => {
    const first = await open();
    await expect(first.observeEpoch(7, 2)).resolves.toBe(true);
    const again = await open();
    expect({ epoch: again.epoch, leader: again.leaderId }).toEqual({ epoch: 7, leader: 2 });
    await expect(again.observeEpoch(7, 3)).resolves.toBe(false);
    await expect(again.observeEpoch(6, 3)).resolves.toBe(false);
    await expect(again.observeEpoch(8, 3)).resolves.toBe(true);
    expect(again.epoch).toBe(8);
  });

  it('a deposed leader hears of it once', async () => {
    const state = await open();
    const deposed: number[] = [];
    state.deposed$.subscribe(({ leader }) => deposed.push(leader));
    await state.observeEpoch(1, 1);
    state.replica.follow();
    state.replica.beginPromotion(1);
    state.replica.becomeLeader(1);
    await Promise.all([state.observeEpoch(2, 2), state.observeEpoch(2, 2)]);
    expect(deposed).toEqual([2]);
  });
});
