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
 * `timeout-once`: the next sync times out, then `ok` (a sync under way while the leader was paused).
 */
type Behaviour = 'ok' | 'limited' | 'down' | 'stale' | 'timeout-once';

const started: ReplicatorService[] = [];
afterEach(() => started.splice(0).forEach((r) => r.stop('test over')));

/** Leader 3 with followers 1 and 2; the followers' answers are scripted per test. */
function setup(env: Record<string, string> = {}, requestId = (n: number) => `r${n}`) {
  const config = new ConfigService(validateEnv(OrderEnv, { ORDER_ID: '3', HEARTBEAT_INTERVAL_MS: '60000', DURABILITY_TIMEOUT_MS: '200', ...env }));
  const entries: OrderRecordDto[] = [];
  let durable = 0;
  const leaderAppends$ = new Subject<'published' | 'written'>();
  const log = {
    leaderAppends$,
    durableLastNo: () => durable,
    lastPosition: () => (entries.length ? { order_no: entries.length, epoch: entries[entries.length - 1].epoch } : { order_no: 0, epoch: 0 }),
    page: async (after: number, limit: number) => entries.slice(after, after + limit),
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
  const peers = {
    sync: async (peer: { id: number }, body: SyncDto) => {
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
  return { replicator, state, behaviour, received, append, publish, write };
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

  it('sends an entry as soon as it is published; two followers make it durable before the leader has written it', async () => {
    const { replicator, state, publish, write, received } = setup();
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

  it('refuses the trades still waiting when it stops leading', async () => {
    const { replicator, behaviour, append } = setup();
    replicator.start(1);
    behaviour[1] = behaviour[2] = 'down';
    const n = append();
    const waiting = replicator.waitDurable(n);
    replicator.stop('a newer epoch has a different leader');
    await expect(waiting).rejects.toMatchObject({ status: 503, code: 'stale_epoch' });
  });
  describe('quorumLostForMs (a leader out of contact with a majority gives up the job)', () => {
    it('is 0 while one follower (2 of 3) accepts syncs, and grows once none has for FOLLOWER_TIMEOUT_MS', async () => {
      const { replicator, behaviour } = setup({ FOLLOWER_TIMEOUT_MS: '1000' });
      replicator.start(1);
      const t = Date.now();
      expect(replicator.quorumLostForMs(t + 900)).toBe(0); // the start counts as contact
      expect(replicator.quorumLostForMs(t + 1500)).toBeGreaterThanOrEqual(400);
      behaviour[1] = 'down';
      await replicator.pumpAll();
      const heard = Date.now();
      expect(replicator.quorumLostForMs(heard + 900)).toBe(0); // follower 2 answered
      expect(replicator.quorumLostForMs(heard + 2500)).toBeGreaterThanOrEqual(1500);
    });

    it('is always 0 with ORDER_ACK_MODE=leader, and when not leading', () => {
      const { replicator } = setup({ ORDER_ACK_MODE: 'leader' });
      replicator.start(1);
      expect(replicator.quorumLostForMs(Date.now() + 60_000)).toBe(0);
      const other = setup();
      expect(other.replicator.quorumLostForMs(Date.now() + 60_000)).toBe(0);
    });
  });
});
