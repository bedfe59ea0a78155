import { jest } from '@jest/globals';
import type { ConfigService } from '@nestjs/config';
import { OrderNotFound, Unavailable } from '@app/common';
import type { FrontendEnv, ReplicaAddress } from '@app/contracts';
import type { Leader, LeaderElectionService } from '../leader/leader-election.service';
import type { ReplicasClient } from '../leader/replicas.client';
import type { StocksService } from '../stocks/stocks.service';
import { OrdersService } from './orders.service';

const REPLICAS: ReplicaAddress[] = [1, 2, 3].map((id) => ({ id, url: `http://r${id}` }) as ReplicaAddress);
const ORDER = { order_no: 5, stock_name: 'Stock1', trade_type: 'buy', quantity: 2 };

type Answer = { status: number; body?: unknown } | Error | 'hang';
/** Each replica answers from its script, one entry per request (the last one repeats). */
function setup(script: Record<number, Answer[]>, opts: { leader?: number | null; waitMs?: number } = {}) {
  const asked: number[] = [];
  const replicas = {
    replicas: REPLICAS,
    query: jest.fn((r: ReplicaAddress) => {
      asked.push(r.id);
      const answers = script[r.id] ?? ['hang'];
      const a = answers.length > 1 ? answers.shift()! : answers[0];
      if (a === 'hang') return new Promise(() => undefined);
      if (a instanceof Error) return Promise.reject(a);
      return Promise.resolve({ status: a.status, data: a.body });
    }),
  } as unknown as ReplicasClient;
  const leaderId = opts.leader === undefined ? 3 : opts.leader;
  const leader = leaderId === null ? null : ({ ...REPLICAS[leaderId - 1], epoch: 1 } as Leader);
  const election = {
    current: leader,
    leaderForRequest: jest.fn(async () => leader),
    reportFailure: jest.fn(async () => null),
  } as unknown as LeaderElectionService;
  const values: Partial<FrontendEnv> = { FORWARD_TIMEOUT_MS: opts.waitMs ?? 600, FAILOVER_TIMEOUT_MS: 1000, QUORUM_WAIT_MS: 100 };
  const config = { get: (k: keyof FrontendEnv) => values[k] } as unknown as ConfigService<FrontendEnv, true>;
  return { service: new OrdersService(election, replicas, {} as StocksService, config), asked, election };
}

const notCommitted = { status: 503, body: { error: { code: 503, message: 'cannot vouch' }, code: 'not_committed' } };
const found = { status: 200, body: { data: ORDER } };
const notFound = { status: 404, body: { error: { code: 404, message: 'order not found' } } };

describe('OrdersService.lookup: answers only what a replica can vouch for', () => {
  it('asks the leader alone when it answers', async () => {
    const { service, asked } = setup({ 3: [found] });
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
    expect(asked).toEqual([3]);
  });

  it("takes the settled leader's 404 as definite", async () => {
    const { service, asked } = setup({ 3: [notFound] });
    await expect(service.lookup(5)).rejects.toBeInstanceOf(OrderNotFound);
    expect(asked).toEqual([3]);
  });

  it('a leader that cannot vouch (promoting, not committed): asks the others, and a follower that has it committed answers', async () => {
    const { service } = setup({ 3: [notCommitted], 2: [notCommitted], 1: [found] });
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
  });

  it('asks again until a replica can vouch (a new leader settles, a follower learns the commit point)', async () => {
    const { service, asked } = setup({ 3: [notCommitted, notCommitted, found], 2: [notCommitted], 1: [new Error('ECONNREFUSED')] });
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
    expect(asked.filter((id) => id === 3).length).toBe(3);
  });

  it('never turns refusals into a 404: 503 once FORWARD_TIMEOUT_MS has passed', async () => {
    const { service } = setup({ 3: [notCommitted], 2: [notCommitted], 1: ['hang'] }, { waitMs: 400 });
    const started = Date.now();
    const err = await service.lookup(5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Unavailable).message).toMatch(/vouch for order 5/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('an unreachable leader is reported, and the others are asked', async () => {
    const { service, election } = setup({ 3: [new Error('ECONNREFUSED')], 2: [found] });
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
    expect(election.reportFailure).toHaveBeenCalledTimes(1);
  });

  it('a leader that does not answer at all: the others are asked after a short wait', async () => {
    const { service } = setup({ 3: ['hang'], 1: [found] });
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
  });

  it('no replica reachable: 503 "no order replica is reachable"', async () => {
    const { service } = setup({ 1: [new Error('x')], 2: [new Error('x')], 3: [new Error('x')] }, { waitMs: 300 });
    await expect(service.lookup(5)).rejects.toThrow('no order replica is reachable');
  });

  it('with no leader known, every replica is asked', async () => {
    const { service } = setup({ 1: [notCommitted], 2: [found], 3: [notCommitted] }, { leader: null });
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
  });

  it('with no leader known, does not wait for an election: a follower answers at once, and refusals end at FORWARD_TIMEOUT_MS', async () => {
    const { service, election } = setup({ 1: [found] }, { leader: null });
    // An election that would not end (a candidate's vote write stalled, a fresh front end's grace).
    (election.leaderForRequest as jest.Mock).mockImplementation(() => new Promise(() => undefined));
    await expect(service.lookup(5)).resolves.toEqual(ORDER);
    const refusing = setup({ 1: [notCommitted], 2: [notCommitted], 3: [notCommitted] }, { leader: null, waitMs: 200 });
    (refusing.election.leaderForRequest as jest.Mock).mockImplementation(() => new Promise(() => undefined));
    await expect(refusing.service.lookup(5)).rejects.toBeInstanceOf(Unavailable);
  });
});
