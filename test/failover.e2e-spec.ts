import { Cluster, http, replicaStatus, sleep, waitFor } from './support/cluster';
import { expectConsistent, expectReadable, tradeLoad } from './support/load';
import { appMain, startNode } from './support/process';

/**
 * Replication and failover with real processes (no acknowledged order lost, doubled or changed; no client-visible failure with one replica down): SIGKILL and SIGSTOP by pid, real SQLite
 * files compared at the end of each test.
 */
describe('failover, replication and recovery', () => {
  let c: Cluster;

  beforeEach(async () => {
    c = await Cluster.start();
  });
  afterEach(async () => {
    await c?.stop();
  });

  const replicaShown = async (id: number, state: string) =>
    ((await http(`${c.frontend}/leader`)).body.replicas as { id: number; state: string }[]).some(
      (r) => r.id === id && r.state === state,
    );

  it('leader killed during a load run: no client error, no lost or duplicate order, logs identical', async () => {
    expect(await c.leaderId()).toBe(3);
    const load = tradeLoad(c, { sessions: 5 });
    await load.acked(30);
    await c.kill('order-3');
    await load.acked(load.outcome.acked.length + 60);
    expect(await c.leaderId()).toBe(2);
    await c.startReplica(3);
    await c.waitReady(3);
    await load.acked(load.outcome.acked.length + 30);
    const { acked, errors } = await load.stop();
    expect(errors).toEqual([]);
    const log = await c.converged();
    await expectConsistent(c, log, acked);
    await expectReadable(c, acked);
  });

  it('follower killed, orders placed, follower restarted: it catches up and all logs are identical', async () => {
    await c.kill('order-1');
    // GET /leader shows each replica as of its last ping (at most a second old), with no election.
    await waitFor('replica 1 shown down', () => replicaShown(1, 'down'));
    const load = tradeLoad(c, { sessions: 3, perSession: 40 });
    const { acked, errors } = await load.done;
    expect(errors).toEqual([]);
    expect((await c.orderTable(1)).length).toBeLessThan(acked.length);
    await c.startReplica(1);
    await c.waitReady(1);
    // Ready means recovered: it already holds every order acknowledged before it started.
    expect((await c.orderTable(1)).length).toBeGreaterThanOrEqual(acked.length);
    await waitFor('replica 1 shown ready', () => replicaShown(1, 'ready'));
    expect((await http(`${c.frontend}/leader`)).body).toMatchObject({ leader: 3 });
    const log = await c.converged();
    await expectConsistent(c, log, acked);
  });

  it('leader paused past the ping timeout then resumed: it is fenced and never writes again', async () => {
    const load = tradeLoad(c, { sessions: 3 });
    await load.acked(20);
    await c.signal('order-3', 'SIGSTOP');
    const next = await c.waitNewLeader(3);
    expect(next).toBe(2);
    await load.acked(load.outcome.acked.length + 40);
    const epoch = (await http(`${c.frontend}/leader`)).body.epoch;
    await c.signal('order-3', 'SIGCONT');
    // The old leader learns the new epoch and steps down; it is no leader any more.
    const status = await waitFor('the old leader to step down', async () => {
      const s = (await c.internal(`${c.replica(3)}/replication/status`)).body;
      return s.epoch >= epoch && s.role !== 'leader' && s.role !== 'promoting' ? s : undefined;
    });
    expect(status.leader).toBe(2);
    // A trade sent straight to it with its old epoch is refused and moves nothing.
    const stocksBefore = await c.stocksTable();
    const direct = await c.internal(`${c.replica(3)}/trade?stock_name=Stock1&trade_type=buy&quantity=1&request_id=fenced-1&epoch=${epoch - 1}`);
    expect(direct.status).toBe(503);
    expect(direct.body.order_no).toBe(-1);
    const { acked, errors } = await load.stop();
    expect(errors).toEqual([]);
    expect(await c.leaderId()).toBe(2);
    const log = await c.converged();
    expect(log.some((o) => o.request_id === 'fenced-1')).toBe(false);
    await expectConsistent(c, log, acked);
    expect((await c.stocksTable()).find((s) => s.name === 'Stock1')!.quantity).toBe(
      100 - log.filter((o) => o.stock_name === 'Stock1').reduce((n, o) => n + (o.trade_type.toLowerCase() === 'buy' ? o.quantity : -o.quantity), 0),
    );
    expect(stocksBefore.length).toBe(10);
  });

  it('the highest-id replica restarting while behind does not lead before it has caught up', async () => {
    await c.kill('order-3');
    await c.waitNewLeader(3);
    const before = tradeLoad(c, { sessions: 4, perSession: 60 });
    const first = await before.done;
    expect(first.errors).toEqual([]);
    // Slow recovery (one order per page) so that it is still catching up when the leader dies.
    await c.startReplica(3, { CATCH_UP_PAGE_SIZE: '1' });
    expect((await c.internal(`${c.replica(3)}/ping`)).status).toBe(503);
    await c.kill('order-2');
    const leader = await c.waitNewLeader(2);
    // Whoever is elected holds every acknowledged order: replica 3 only once it has caught up.
    const status = (await c.internal(`${c.replica(leader)}/replication/status`)).body;
    expect(status.last_no).toBeGreaterThanOrEqual(first.acked.length);
    await c.waitReady(3);
    expect((await c.orderTable(3)).length).toBeGreaterThanOrEqual(first.acked.length);
    // With one replica down again, trades go through.
    const after = tradeLoad(c, { sessions: 2, perSession: 10 });
    const second = await after.done;
    expect(second.errors).toEqual([]);
    await c.startReplica(2);
    await c.waitReady(2);
    const log = await c.converged();
    await expectConsistent(c, log, [...first.acked, ...second.acked]);
  });

  it('two replicas down: trades fail fast with 503, order lookups keep working; one back and trades resume', async () => {
    const load = tradeLoad(c, { sessions: 2, perSession: 10 });
    const { acked } = await load.done;
    await c.kill('order-1');
    await c.kill('order-2');
    const res = await http(`${c.frontend}/orders`, { body: { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 } });
    expect(res.status).toBe(503);
    expect(res.body.order_no).toBe(-1);
    expect(res.body.message).toMatch(/replicas/);
    await expectReadable(c, acked);
    await c.startReplica(2);
    await c.waitReady(2);
    const resumed = await http(`${c.frontend}/orders`, { body: { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 } });
    expect(resumed.status).toBe(200);
    await c.startReplica(1);
    await c.waitReady(1);
    const log = await c.converged();
    await expectConsistent(c, log, [...acked, { key: log[log.length - 1].request_id, order_no: resumed.body.order_no, stock_name: 'Stock1', trade_type: 'buy', quantity: 1 }]);
  });

  it('a catalog trade whose leader crashed before storing it is recorded by the next leader, with no retry', async () => {
    await c.kill('order-3');
    await c.startReplica(3, { FAULT_POINT: 'after-catalog-trade' });
    await c.waitReady(3);
    // Make 3 the leader again: kill 2 (the current leader), then bring it back.
    await c.kill('order-2');
    expect(await c.waitNewLeader(2)).toBe(3);
    await c.startReplica(2);
    await c.waitReady(2);
    const epoch = (await http(`${c.frontend}/leader`)).body.epoch;
    // Straight to the leader, bypassing the front end: nobody will retry this one.
    await c.internal(`${c.replica(3)}/trade?stock_name=Stock4&trade_type=BUY&quantity=0003&request_id=orphan-1&epoch=${epoch}`).catch(() => undefined);
    await waitFor('the orphaned catalog trade in the log', async () => (await c.orderTable(2)).some((o) => o.request_id === 'orphan-1'));
    await c.startReplica(3);
    await c.waitReady(3);
    const log = await c.converged();
    const orphan = log.find((o) => o.request_id === 'orphan-1')!;
    expect(orphan).toMatchObject({ stock_name: 'Stock4', trade_type: 'BUY', quantity: 3 });
    await expectConsistent(c, log, []);
  });

  /**
   * The client CLI's load (lookups, trades, its orders read back; exit code non-zero on any
   * error), next to the suite's trade load (no client retry), and lookups sent once each while
   * the catalog is out — `outage` takes it out, `back` brings it back — some of stocks the front
   * end had cached under its lease: no client sees an error, and nothing is lost.
   */
  async function catalogOutageUnderLoad(outage: () => Promise<void>, back: () => Promise<void>): Promise<void> {
    const client = startNode(appMain('client'), ['load', '--sessions', '4', '--p', '0.5', '--duration', '20', '--quiet', '--url', c.frontend], {}, 120_000);
    const load = tradeLoad(c, { sessions: 2 });
    await load.acked(30);
    await outage();
    const lookups: Promise<{ status: number; text: string }>[] = [];
    for (let i = 0; i < 30; i++) {
      lookups.push(http(`${c.frontend}/stocks?stock_name=Stock${(i % 10) + 1}`, { timeoutMs: 60000 }));
      await sleep(100);
    }
    await back();
    // Every lookup is answered once the catalog is back (and its start-up fence is over).
    expect((await Promise.all(lookups)).filter((r) => r.status !== 200)).toEqual([]);
    await load.acked(load.outcome.acked.length + 30);
    const { acked, errors } = await load.stop();
    expect(errors).toEqual([]);
    const cli = await client.done;
    expect({ code: cli.code, stderr: cli.stderr, ...(cli.code !== 0 && { stdout: cli.stdout }) }).toEqual({ code: 0, stderr: '' });
    expect(cli.stdout).toMatch(/^errors +0$/m);
    const log = await c.converged();
    await expectConsistent(c, log, acked);
    await expectReadable(c, acked.slice(-20));
  }

  it('catalog killed during a load run of lookups and trades, back 3 s later: no client error, nothing lost', async () => {
    await catalogOutageUnderLoad(
      () => c.kill('catalog'),
      () => c.startCatalog(),
    );
  });

  it('catalog paused (SIGSTOP) for 3 s during a load run: no client error, nothing lost', async () => {
    // A catalog that holds its connections and answers nothing until it resumes.
    await catalogOutageUnderLoad(
      () => c.signal('catalog', 'SIGSTOP'),
      () => c.signal('catalog', 'SIGCONT'),
    );
  });

  it('a replica never leads an epoch twice: restarted after leading it, it refuses that epoch again (a late announcement), and leads a newer one', async () => {
    const placed = await http(`${c.frontend}/orders`, { method: 'POST', body: { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 } });
    expect(placed.status).toBe(200);
    const { leader, epoch } = (await http(`${c.frontend}/leader`)).body as { leader: number; epoch: number };
    expect(leader).toBe(3);
    // No front end to elect another leader meanwhile: replica 3 comes back a follower of the epoch
    // it led, with its vote for itself, as after a step-down.
    await c.kill('frontend');
    await c.kill('order-3');
    await c.startReplica(3);
    await c.waitReady(3);
    expect((await replicaStatus(c.token, c.replica(3))).body).toMatchObject({ role: 'follower', epoch, leader: 3 });
    // The announcement of that epoch, as a second front end's delayed one: leading it again could
    // number new orders at numbers a follower holds other orders at, under the same stamp.
    const again = await c.internal(`${c.replica(3)}/leader?leader=3&epoch=${epoch}`);
    expect({ status: again.status, body: again.body }).toEqual({
      status: 503,
      body: { message: `replica 3 led epoch ${epoch} before and stepped down: it leads no epoch twice, only a newer one`, code: 'stale_epoch' },
    });
    expect((await replicaStatus(c.token, c.replica(3))).body).toMatchObject({ role: 'follower', epoch });
    // The front end elects it in a newer epoch.
    await c.startFrontend();
    await c.waitLeading();
    const now = (await http(`${c.frontend}/leader`)).body as { leader: number; epoch: number };
    expect(now.epoch).toBeGreaterThan(epoch);
    const next = await http(`${c.frontend}/orders`, { method: 'POST', body: { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 } });
    expect(next.status).toBe(200);
    const log = await c.converged();
    expect(log.map((o) => o.order_no)).toEqual([1, 2]);
  });
});

describe('a follower paused while 1000 orders were placed (SYNC_BATCH_SIZE=1000)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.start({ env: { SYNC_BATCH_SIZE: '1000' } });
  });
  afterAll(() => c?.stop());

  it('is sent what it missed in syncs that fit in a request body, and catches up', async () => {
    const leader = await c.leaderId();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await c.signal(`order-${follower}`, 'SIGSTOP');
    // About 190 KB of orders: a sync of all of them is three times the 64 KiB a replica accepts.
    const { acked, errors } = await tradeLoad(c, { sessions: 8, perSession: 125 }).done;
    expect(errors).toEqual([]);
    await c.signal(`order-${follower}`, 'SIGCONT');
    const last = (await c.internal(`${c.replica(leader)}/replication/status`)).body.last_no as number;
    expect(last).toBeGreaterThanOrEqual(900);
    await waitFor(`replica ${follower} to hold order ${last}`, async () => (await c.internal(`${c.replica(follower)}/replication/status`)).body.last_no >= last, 30_000);
    const log = await c.converged();
    await expectConsistent(c, log, acked);
  });
});

describe('acknowledging with the leader alone (ORDER_ACK_MODE=leader)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.start({ env: { ORDER_ACK_MODE: 'leader' } });
  });
  afterAll(() => c?.stop());

  it('keeps taking trades with two replicas down, and the others catch up afterwards', async () => {
    await c.kill('order-1');
    await c.kill('order-2');
    const load = tradeLoad(c, { sessions: 2, perSession: 10 });
    const { acked, errors } = await load.done;
    expect(errors).toEqual([]);
    expect(acked.length).toBeGreaterThan(0);
    await c.startReplica(1);
    await c.startReplica(2);
    await Promise.all([c.waitReady(1), c.waitReady(2)]);
    await sleep(100);
    const log = await c.converged();
    await expectConsistent(c, log, acked);
  });
});
