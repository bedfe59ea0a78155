import { jest } from '@jest/globals';
import { monotonicNow } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { Subject } from 'rxjs';
import { MAX_BODY_BYTES, OrderEnv, OrderRecordDto, SyncDto, validateEnv } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { ReplicaState } from '../cluster/replica-state';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderLogService } from '../orders/order-log.service';
import { ReplicatorService } from './replicator.service';

/**
 * `ok`: accepts any sync; `limited`: as a real replica, refuses a body over MAX_BODY_BYTES (413);
 * `timeout-once`: the next sync times out, then `ok` (a sync under way while the leader was paused);
 * `hang`: no answer until the test releases it (a paused follower).
 */
type Behaviour = 'ok' | 'limited' | 'down' | 'stale' | 'timeout-once' | 'hang';

const started: ReplicatorService[] = [];
afterEach(() => started.splice(0).forEach((r) => r.stop('test over')));

/** Leader 3 with followers 1 and 2; the followers' answers are scripted per test. */
function setup(env: Record<string, string> = {}, requestId = (n: number) => `r${n}`) {
  const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '3', HEARTBEAT_INTERVAL_MS: '60000', DURABILITY_TIMEOUT_MS: '200', ...env }));
  const entries: OrderRecordDto[] = [];
  let durable = 0;
  /** The next `left` reads of orders to send take `ms` each. */
  const slowReads = { left: 0, ms: 0 };
  const leaderAppends$ = new Subject<'published' | 'written'>();
  const log = {
    leaderAppends$,
    durableLastNo: () => durable,
    lastPosition: () => (entries.length ? { order_no: entries.length, epoch: entries[entries.length - 1].epoch } : { order_no: 0, epoch: 0 }),
    page: async (after: number, limit: number) => {
      if (slowReads.left > 0) {
        slowReads.left--;
        await new Promise((resolve) => setTimeout(resolve, slowReads.ms));
      }
      return entries.slice(after, after + limit);
    },
    find: async (n: number) => entries[n - 1] ?? null,
    getMeta: () => 0,
  } as unknown as OrderLogService;
  const replica = new ReplicaState(3, { epoch: 1, votedFor: 3, leader: 3, commitNo: 0 });
  replica.follow();
  replica.beginPromotion(1);
  replica.becomeLeader(1);
  const state = {
    id: 3,
    epoch: 1,
    peers: [{ id: 1, url: 'http://r1' }, { id: 2, url: 'http://r2' }],
    majority: 2,
    replica,
    get commitNo() {
      return replica.commitNo;
    },
  } as unknown as ClusterStateService;
  const behaviour: Record<number, Behaviour> = { 1: 'ok', 2: 'ok' };
  const received: Record<number, number[]> = { 1: [], 2: [] };
  const calls: Record<number, number> = { 1: 0, 2: 0 };
  const hung: (() => void)[] = [];
  const peers = {
    sync: async (peer: { id: number }, body: SyncDto) => {
      calls[peer.id]++;
      if (behaviour[peer.id] === 'hang') await new Promise<void>((resolve) => hung.push(resolve));
      const b = behaviour[peer.id];
      if (b === 'down') throw new Error('ECONNREFUSED');
      if (b === 'timeout-once') {
        behaviour[peer.id] = 'ok';
        throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
      }
      if (b === 'stale') return { status: 503, data: { code: 'stale_epoch' } };
      if (b === 'limited' && Buffer.byteLength(JSON.stringify(body)) > MAX_BODY_BYTES) return { status: 413, data: { message: 'request body is too large' } };
      received[peer.id].push(...body.orders.map((o) => o.order_no));
      return { status: 200, data: { last_no: body.orders.length ? body.orders[body.orders.length - 1].order_no : body.prev?.order_no } };
    },
    statuses: async () => [],
  } as unknown as PeersClient;
  const faults = { reached: () => undefined } as unknown as FaultInjector;
  const replicator = new ReplicatorService(state, log, peers, faults, config as unknown as ConfigService<OrderEnv, true>);
  started.push(replicator);
  /** A leader append as the log does it: numbered and published (sent), then written. */
  const publish = () => {
    entries.push({ order_no: entries.length + 1, epoch: 1, request_id: requestId(entries.length + 1), stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    leaderAppends$.next('published');
    return entries.length;
  };
  const write = () => {
    durable = entries.length;
    leaderAppends$.next('written');
  };
  const append = () => {
    const n = publish();
    write();
    return n;
  };
  return { replicator, state, behaviour, received, calls, hung, slowReads, append, publish, write };
}

describe('ReplicatorService (leader side)', () => {
  it('acknowledges an order once one follower has it (2 of 3) and sends every follower the entries in order', async () => {
    const { replicator, state, append, received } = setup();
    replicator.start(1);
    const n = append();
    replicator.kick();
    await expect(replicator.waitDurable(n)).resolves.toBeUndefined();
    expect(state.commitNo).toBe(1);
    await replicator.pumpAll();
    expect(received).toEqual({ 1: [1], 2: [1] });
    replicator.stop('test over');
  });

  it('sends from the number it is started from: a new leader sends the entries after the commit point again (their new stamps)', async () => {
    const { replicator, append, received } = setup();
    append();
    append();
    append();
    replicator.start(1, 2);
    await replicator.pumpAll();
    expect(received).toEqual({ 1: [2, 3], 2: [2, 3] });
    replicator.stop('test over');
  });

  it('sends an entry as soon as it is published; two followers make it durable before the leader has written it', async () => {
    // The follower counted on has it while this replica's own write is under way: the spare is
    // sent it at once (not SPARE_RESCUE_MS later), which makes the majority.
    const { replicator, state, publish, write, received } = setup({ SPARE_RESCUE_MS: '60000' });
    replicator.start(1);
    const n = publish();
    await expect(replicator.waitDurable(n)).resolves.toBeUndefined();
    expect(received).toEqual({ 1: [1], 2: [1] });
    expect(state.commitNo).toBe(1);
    write();
    expect(state.commitNo).toBe(1);
  });

  it('with one follower down, counts the leader\'s own copy only once it is written', async () => {
    const { replicator, state, behaviour, publish, write } = setup();
    behaviour[2] = 'down';
    replicator.start(1);
    const n = publish();
    const durable = replicator.waitDurable(n);
    await replicator.pumpAll();
    expect(state.commitNo).toBe(0); // follower 1 alone is not a majority
    write();
    await expect(durable).resolves.toBeUndefined();
    expect(state.commitNo).toBe(1);
  });

  it('with ORDER_ACK_MODE=leader and the followers down, acknowledges once its own write is done, not before', async () => {
    const { replicator, state, behaviour, publish, write } = setup({ ORDER_ACK_MODE: 'leader' });
    behaviour[1] = behaviour[2] = 'down';
    replicator.start(1);
    const n = publish();
    await replicator.pumpAll();
    expect(state.replica.ackNo).toBe(0);
    write();
    await expect(replicator.waitDurable(n)).resolves.toBeUndefined();
    expect(state.replica.ackNo).toBe(1);
  });

  it('still acknowledges with one follower down', async () => {
    const { replicator, behaviour, append } = setup();
    behaviour[2] = 'down';
    replicator.start(1);
    await replicator.ensureQuorum();
    const n = append();
    replicator.kick();
    await expect(replicator.waitDurable(n)).resolves.toBeUndefined();
    replicator.stop('test over');
  });

  it('sends a follower far behind what it misses in syncs that fit in a request body, whatever SYNC_BATCH_SIZE', async () => {
    const longId = (n: number) => `${n}-`.padEnd(128, 'k');
    const { replicator, behaviour, received, append } = setup({ SYNC_BATCH_SIZE: '1000' }, longId);
    behaviour[1] = 'down';
    replicator.start(1);
    for (let i = 0; i < 400; i++) append(); // about 90 KB of orders
    await replicator.pumpAll();
    expect(received[1]).toEqual([]);
    behaviour[1] = 'limited';
    for (let round = 0; round < 5 && received[1].length < 400; round++) await replicator.pumpAll();
    expect(received[1]).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it('stops the links of an earlier start once replication is started again, in the same epoch too: a late answer revives none of them', async () => {
    const { replicator, behaviour, received, calls, hung, append } = setup({ SYNC_BATCH_SIZE: '1', SPARE_SYNC_ENTRIES: '0' });
    behaviour[1] = 'hang';
    replicator.start(1);
    for (let i = 0; i < 3; i++) append();
    void replicator.pumpAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(hung.length).toBe(1); // the first link's sync of order 1, unanswered
    // A promotion attempt starts replication again (see LeadershipService.promote).
    behaviour[1] = 'ok';
    replicator.start(1, 1);
    await replicator.pumpAll();
    expect(received[1]).toEqual([1, 2, 3]);
    const sent = calls[1];
    // The old link's sync is answered at last: it sends nothing more.
    hung.splice(0).forEach((release) => release());
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls[1]).toBe(sent);
    expect(received[1]).toEqual([1, 2, 3, 1]);
  });

  it('refuses fast, before any trade, when too few replicas are reachable', async () => {
    const { replicator, behaviour } = setup();
    behaviour[1] = behaviour[2] = 'down';
    replicator.start(1);
    await expect(replicator.ensureQuorum()).rejects.toMatchObject({ status: 503, code: 'insufficient_replicas' });
    replicator.stop('test over');
  });

  it('does not take one failed round of syncs for a missing majority: it syncs once more before refusing', async () => {
    // A leader paused (SIGSTOP, a stalled VM) for longer than FOLLOWER_TIMEOUT_MS reads a trade
    // before its timers run: its followers look out of date, and the syncs under way when it
    // stopped time out on timers that expired while it was not running, answers unread.
    const { replicator, behaviour } = setup();
    replicator.start(1);
    behaviour[1] = behaviour[2] = 'timeout-once';
    await expect(replicator.ensureQuorum()).resolves.toBeUndefined();
    expect(replicator.reachableFollowers()).toBeGreaterThanOrEqual(1);
    replicator.stop('test over');
  });

  describe('confirmLeading (read index: may this leader still say that an order does not exist?)', () => {
    it('is true once one follower (2 of 3) accepts a sync sent after the call, and false while none does', async () => {
      const { replicator, behaviour } = setup();
      replicator.start(1);
      behaviour[1] = 'down';
      await expect(replicator.confirmLeading()).resolves.toBe(true);
      behaviour[2] = 'down';
      await expect(replicator.confirmLeading()).resolves.toBe(false);
    });

    it('is false for a leader whose followers adopted a newer epoch', async () => {
      const { replicator, behaviour } = setup();
      replicator.start(1);
      behaviour[1] = behaviour[2] = 'stale';
      await expect(replicator.confirmLeading()).resolves.toBe(false);
    });

    it('does not count a sync that was sent before the call: it sends another', async () => {
      const { replicator, behaviour, hung, calls, append } = setup();
      replicator.start(1);
      behaviour[1] = 'down';
      behaviour[2] = 'hang';
      append(); // a sync to follower 2 is now under way, unanswered
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls[2]).toBe(1);
      const confirming = replicator.confirmLeading();
      await new Promise((resolve) => setImmediate(resolve));
      behaviour[2] = 'ok';
      hung.splice(0).forEach((release) => release()); // the old sync is accepted now: not enough
      await expect(confirming).resolves.toBe(true);
      expect(calls[2]).toBe(2);
    });

    it('is false when not leading', async () => {
      const { replicator, calls } = setup();
      await expect(replicator.confirmLeading()).resolves.toBe(false);
      expect(calls[1] + calls[2]).toBe(0);
    });

    it('needs a majority with ORDER_ACK_MODE=leader too: a deposed leader must not deny an order its successor acknowledged alone', async () => {
      const { replicator, behaviour } = setup({ ORDER_ACK_MODE: 'leader' });
      replicator.start(1);
      behaviour[1] = behaviour[2] = 'stale'; // both follow a newer leader
      await expect(replicator.confirmLeading()).resolves.toBe(false);
      behaviour[1] = 'ok';
      await expect(replicator.confirmLeading()).resolves.toBe(true);
    });
  });

  it('answers 503 when an order does not become durable in time', async () => {
    const { replicator, behaviour, append } = setup();
    replicator.start(1);
    await replicator.ensureQuorum();
    behaviour[1] = behaviour[2] = 'down';
    const n = append();
    replicator.kick();
    await expect(replicator.waitDurable(n)).rejects.toMatchObject({ status: 503, code: 'not_durable' });
    replicator.stop('test over');
  });

  it('with ORDER_ACK_MODE=leader acknowledges at once but keeps the commit point at the majority', async () => {
    const { replicator, behaviour, append, state } = setup({ ORDER_ACK_MODE: 'leader' });
    behaviour[1] = behaviour[2] = 'down';
    replicator.start(1);
    await expect(replicator.ensureQuorum()).resolves.toBeUndefined();
    const n = append();
    replicator.kick();
    await expect(replicator.waitDurable(n)).resolves.toBeUndefined();
    expect(state.commitNo).toBe(0);
    replicator.stop('test over');
  });

  it('refuses the trades still waiting when it stops leading, with a code that does not say "before trading" (they traded at the catalog)', async () => {
    const { replicator, behaviour, append } = setup();
    replicator.start(1);
    behaviour[1] = behaviour[2] = 'down';
    const n = append();
    const waiting = replicator.waitDurable(n);
    replicator.stop('a newer epoch has a different leader');
    await expect(waiting).rejects.toMatchObject({ status: 503, code: 'not_leader' });
  });
  describe('thrifty replication (SPARE_SYNC_ENTRIES, SPARE_RESCUE_MS)', () => {
    /** Lets the scripted syncs under way finish (each is a few turns of promises). */
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

    it('sends a new order at once only to the follower the majority needs (the highest id), and the spare its orders SPARE_SYNC_ENTRIES at a time', async () => {
      const { replicator, received, append } = setup({ SPARE_SYNC_ENTRIES: '3', SPARE_RESCUE_MS: '60000' });
      replicator.start(1);
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      await settle();
      expect(received).toEqual({ 1: [], 2: [1, 2] });
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      await settle();
      expect(received).toEqual({ 1: [1, 2, 3], 2: [1, 2, 3] });
      expect(replicator.spareRescues).toBe(0);
    });

    it('with SPARE_SYNC_ENTRIES=0, and with ORDER_ACK_MODE=leader, sends every follower every order at once', async () => {
      for (const env of [{ SPARE_SYNC_ENTRIES: '0' }, { ORDER_ACK_MODE: 'leader' }] as Record<string, string>[]) {
        const { replicator, received, append } = setup({ ...env, SPARE_RESCUE_MS: '60000' });
        replicator.start(1);
        await replicator.waitDurable(append());
        await settle();
        expect(received).toEqual({ 1: [1], 2: [1] });
      }
    });

    it('sends the spare the order at once when the sync to the follower counted on fails, and counts on the spare from then on', async () => {
      const { replicator, behaviour, received, append } = setup({ SPARE_RESCUE_MS: '60000' });
      behaviour[2] = 'down';
      replicator.start(1);
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      expect(received[1]).toEqual([1]);
      expect(replicator.spareRescues).toBe(1);
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      expect(received[1]).toEqual([1, 2]);
      expect(replicator.spareRescues).toBe(1); // follower 1 was counted on for the second
    });

    it('sends the spare the order after SPARE_RESCUE_MS when the follower counted on does not answer, and counts on the spare from then on', async () => {
      const { replicator, behaviour, received, hung, append } = setup({ SPARE_RESCUE_MS: '30' });
      replicator.start(1);
      await replicator.waitDurable(append()); // follower 2 answers, and is counted on
      expect(received).toEqual({ 1: [], 2: [1] });
      behaviour[2] = 'hang';
      const sent = monotonicNow();
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      expect(monotonicNow() - sent).toBeGreaterThanOrEqual(25);
      expect(received[1]).toEqual([1, 2]);
      expect(replicator.spareRescues).toBe(1);
      await expect(replicator.waitDurable(append())).resolves.toBeUndefined();
      expect(received[1]).toEqual([1, 2, 3]);
      expect(replicator.spareRescues).toBe(1); // its sync waited too long: follower 1 was counted on
      behaviour[2] = 'ok';
      hung.splice(0).forEach((release) => release());
    });

    it('no longer counts on a follower that did not hold its orders when the spare was rescued, however late its sync left', async () => {
      // Reading the order to send follower 2 takes 20 of the 40 ms: when the rescue comes, its
      // sync has waited only about 20 ms, which alone would still count as in time.
      const { replicator, behaviour, received, hung, slowReads, append } = setup({ SPARE_RESCUE_MS: '40' });
      replicator.start(1);
      await replicator.waitDurable(append());
      behaviour[2] = 'hang';
      Object.assign(slowReads, { left: 1, ms: 20 });
      await replicator.waitDurable(append());
      expect(replicator.spareRescues).toBe(1);
      await settle(); // the rescue's sync to follower 1 is over
      await replicator.waitDurable(append());
      expect(received[1]).toEqual([1, 2, 3]);
      expect(replicator.spareRescues).toBe(1); // follower 1 was counted on for the third
      behaviour[2] = 'ok';
      hung.splice(0).forEach((release) => release());
    });

    it('does not resend in a loop while both followers fail: a failed follower waits for the heartbeat', async () => {
      const { replicator, behaviour, calls, append } = setup({ SPARE_RESCUE_MS: '10' });
      behaviour[1] = behaviour[2] = 'down';
      replicator.start(1);
      const n = append();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(calls[1] + calls[2]).toBeLessThanOrEqual(3);
      await expect(replicator.waitDurable(n)).rejects.toMatchObject({ code: 'not_durable' });
    });
  });

  describe('quorumLostForMs (a leader out of contact with a majority gives up the job)', () => {
    it('is 0 while one follower (2 of 3) accepts syncs, and grows once none has for FOLLOWER_TIMEOUT_MS', async () => {
      const { replicator, behaviour } = setup({ FOLLOWER_TIMEOUT_MS: '1000' });
      replicator.start(1);
      const t = monotonicNow();
      expect(replicator.quorumLostForMs(t + 900)).toBe(0); // the start counts as contact
      expect(replicator.quorumLostForMs(t + 1500)).toBeGreaterThanOrEqual(400);
      behaviour[1] = 'down';
      await replicator.pumpAll();
      const heard = monotonicNow();
      expect(replicator.quorumLostForMs(heard + 900)).toBe(0); // follower 2 answered
      expect(replicator.quorumLostForMs(heard + 2500)).toBeGreaterThanOrEqual(1500);
    });

    it('is above 0 exactly when too few followers count as reachable to make a trade durable (ensureQuorum\'s count)', async () => {
      const { replicator, behaviour } = setup({ FOLLOWER_TIMEOUT_MS: '1000' });
      replicator.start(1);
      await replicator.pumpAll();
      behaviour[1] = behaviour[2] = 'down';
      const heard = monotonicNow();
      for (const after of [0, 500, 999, 1001, 1500, 5000]) {
        const now = heard + after;
        const reachable = replicator['links'].filter((l) => now - l.lastContact <= 1000).length;
        expect([after, replicator.quorumLostForMs(now) > 0]).toEqual([after, reachable < 1]);
      }
    });

    it('is measured on the monotonic clock: the wall clock set back a minute does not make silent followers reachable again', async () => {
      const { replicator, behaviour } = setup({ FOLLOWER_TIMEOUT_MS: '1000' });
      replicator.start(1);
      await replicator.pumpAll();
      behaviour[1] = behaviour[2] = 'down';
      const later = performance.now() + 1500;
      const mono = jest.spyOn(performance, 'now').mockReturnValue(later);
      const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() - 60_000); // an NTP step back
      try {
        expect(replicator.reachableFollowers()).toBe(0);
        expect(replicator.quorumLostForMs()).toBeGreaterThanOrEqual(400);
      } finally {
        mono.mockRestore();
        wall.mockRestore();
      }
    });

    it('is always 0 with ORDER_ACK_MODE=leader, and when not leading', () => {
      const { replicator } = setup({ ORDER_ACK_MODE: 'leader' });
      replicator.start(1);
      expect(replicator.quorumLostForMs(monotonicNow() + 60_000)).toBe(0);
      const other = setup();
      expect(other.replicator.quorumLostForMs(monotonicNow() + 60_000)).toBe(0);
    });
  });
});
