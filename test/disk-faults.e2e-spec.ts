import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Cluster, execSql, http, placeOrder, readAll, replicaStatus, waitFor } from './support/cluster';

/**
 * Disk faults on real processes:
 * - a corrupt order database stops its replica with one line on stderr that names the file and
 *   says how to rebuild it; following exactly those steps (delete `order-2.sqlite*`, start it
 *   again) brings the replica back with every order, copied from its peers before it is ready;
 * - a replica whose file was changed below its commit point stays not ready, whether its restart
 *   finds it, its leader's first sync does (when it came back while no peer answered), or peers as
 *   advanced as it do (a whole cluster restarting, or a peer that took its changed log as it is and
 *   is asked to compare again); a third copy of the order says which file to rebuild, the leader's
 *   included, and a difference found is remembered across a restart; with no third copy, the
 *   operator's documented way out (rebuild one file, start the other once with TRUST_OWN_LOG).
 *   These changes clear the entry's checksum too, as in an entry written before checksums: what
 *   finds them is the comparison of copies between replicas (an entry whose checksum no longer
 *   matches is found by its own replica, and repaired: test/checksums.e2e-spec.ts);
 * - a corrupt catalog database is one line too, and so is one that refuses the write of its lease
 *   span at start (it starts once the file takes writes again);
 * - a front end whose epoch write fails logs a clear error, answers 503 in each route's shape
 *   (never 500), and elects as soon as the write works again.
 */
/** `s` as a regular expression that matches it literally. */
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Garbage over a database file and its write-ahead log, if one is left (pages still in the WAL
 * would otherwise be read from there, and the damage would not show).
 */
function corrupt(file: string): void {
  for (const f of [file, `${file}-wal`]) {
    if (existsSync(f)) writeFileSync(f, randomBytes(Math.max(statSync(f).size, 4096)));
  }
}


describe('disk faults', () => {
  let c: Cluster;
  const acked: { order_no: number; stock_name: string }[] = [];

  beforeAll(async () => {
    // Trades give up after 4 s without a leader, so that the epoch-failure 503 comes quickly.
    c = await Cluster.start({ envFor: { frontend: { FAILOVER_TIMEOUT_MS: '4000' } } });
  });
  afterAll(() => c?.stop());

  const trade = async (stock_name: string) => {
    const res = await placeOrder(c.frontend, { stock_name, trade_type: 'buy', quantity: 1 });
    expect({ stock_name, status: res.status, body: res.body }).toMatchObject({ status: 200 });
    acked.push({ order_no: res.body.order_no, stock_name });
  };

  /** Starts `name` on a file that cannot be used and returns what it printed; it must exit 1. */
  const failedStart = async (name: string, app: string, extra: Record<string, string> = {}) => {
    const before = c.log(name).length;
    c.spawnApp(name, app, extra);
    const status = await waitFor(`${name} to exit`, async () => c.exitStatus(name), 30000);
    expect(status).toEqual({ code: 1, signal: null });
    return c.log(name).slice(before);
  };

  it('a corrupt replica database: one line naming it; deleting order-2.sqlite* and starting again rebuilds it from its peers', async () => {
    for (let i = 1; i <= 12; i++) await trade(`Stock${(i % 10) + 1}`);
    await c.converged();
    await c.signal('order-2', 'SIGTERM');
    const file = join(c.dataDir, 'order-2.sqlite');
    corrupt(file);

    const printed = await failedStart('order-2', 'order', { ORDER_ID: '2' });
    expect(printed).toBe(
      `order-2: database file ${file} is unreadable or corrupt (SQLITE_NOTADB: file is not a database); ` +
        `to rebuild replica 2 from its peers, delete (or move aside) ${file}* and start it again: ` +
        'it copies every order from the other replicas before it is ready\n',
    );
    // It stays that way: a second start says the same and exits 1 again (no stack trace, no retries).
    expect(await failedStart('order-2', 'order', { ORDER_ID: '2' })).toBe(printed);

    // Trading goes on with replicas 1 and 3 meanwhile: the rebuilt replica must fetch these too.
    for (let i = 1; i <= 5; i++) await trade(`Stock${i}`);

    // The documented steps, exactly: delete order-2.sqlite* and start replica 2 again.
    for (const f of readdirSync(c.dataDir).filter((f) => f.startsWith('order-2.sqlite'))) rmSync(join(c.dataDir, f));
    await c.startReplica(2);
    await c.waitReady(2);
    // Ready means caught up: every acknowledged order is already in its own file, as on its peers.
    const rebuilt = await c.orderTable(2);
    expect(rebuilt.map((r) => r.order_no)).toEqual(expect.arrayContaining(acked.map((a) => a.order_no)));
    const reference = await c.orderTable(3);
    expect(rebuilt).toEqual(reference.slice(0, rebuilt.length));
    expect(rebuilt.length).toBeGreaterThanOrEqual(acked.length);
    for (const a of acked) expect(rebuilt.find((r) => r.order_no === a.order_no)).toMatchObject({ stock_name: a.stock_name, trade_type: 'buy', quantity: 1 });
    await trade('Stock7');
    expect(await c.converged()).toEqual(await c.orderTable(2));
  });

  it('a replica whose file was changed below its commit point: it verifies its whole log on restart, stays not ready and says how to rebuild it', async () => {
    for (let i = 1; i <= 3; i++) await trade(`Stock${i}`);
    await c.converged();
    const leader = await c.leaderId();
    const id = [1, 2, 3].find((r) => r !== leader)!;
    await c.signal(`order-${id}`, 'SIGTERM');
    const file = join(c.dataDir, `order-${id}.sqlite`);
    const [{ value: commitNo }] = await readAll<{ value: number }>(file, `SELECT value FROM replica_meta WHERE key = 'commit_no'`);
    expect(commitNo).toBeGreaterThanOrEqual(1);
    // An order it had committed now has another quantity: a damaged (or edited) file. (Its epoch
    // stamp alone would not do: a newer leader may stamp an order it inherited with its own epoch,
    // and replicas take such stamps; see LeadershipService.adoptInherited.) Its checksum is cleared,
    // as in an entry written before checksums: only a comparison with its peers' copies finds it.
    await execSql(file, 'UPDATE orders SET quantity = quantity + 50, checksum = NULL WHERE order_no = 1');

    await c.startReplica(id);
    const ping = await waitFor(`replica ${id} to refuse readiness over its log`, async () => {
      const res = await http(`${c.replica(id)}/ping`, { timeoutMs: 2000 });
      return res.status === 503 && /log differs/.test(res.body?.error?.message ?? '') ? res : undefined;
    });
    expect(ping.body).toEqual({
      // The third replica holds the source's copy of the order: this file is the one to rebuild.
      error: { code: 503, message: expect.stringMatching(/^not ready: its log differs from replica (\d)'s below its commit point: order 1 is committed \(commit point \d+\) and cannot be replaced or dropped; replica \d holds replica \1's copy of order 1$/) },
      code: 'not_ready',
    });
    // Logged before /ping can say so; the log file is written by this process's pipe, which may trail the answer.
    const howToRebuild = `delete (or move aside) ${file}* and start it again`;
    await waitFor(`replica ${id}'s log to say how to rebuild it`, async () => c.log(`order-${id}`).includes(howToRebuild), 10000);
    expect((await c.orderTable(id))[0].quantity).toBeGreaterThan(50); // nothing was overwritten
    // It vouches for none of its copies meanwhile, the damaged one included; the front end reads the order elsewhere.
    const direct = await c.internal(`${c.replica(id)}/query?order_no=1`);
    expect(direct.status).toBe(503);
    expect(direct.body).toMatchObject({ code: 'not_committed', error: { code: 503, message: expect.stringContaining('its log is damaged') } });
    const viaFrontEnd = await http(`${c.frontend}/orders?order_no=1`);
    expect(viaFrontEnd.status).toBe(200);
    expect(viaFrontEnd.body.data.quantity).toBeLessThan(50);

    // The documented steps rebuild it.
    await c.signal(`order-${id}`, 'SIGTERM');
    for (const f of readdirSync(c.dataDir).filter((f) => f.startsWith(`order-${id}.sqlite`))) rmSync(join(c.dataDir, f));
    await c.startReplica(id);
    await c.waitReady(id);
    await trade('Stock4');
    expect(await c.converged()).toEqual(await c.orderTable(id));
  });

  /**
   * Replica 1 (the lowest id: with a majority up it is never the one elected) misses a few orders,
   * then every replica and the front end stop, and replica `changed`'s copy of replica 1's commit
   * point's order gets another quantity. Replica 1 comes back alone, with no peer to compare its
   * log with, so it takes its log as it is and follows; then replica 3, which has no peer as
   * advanced as itself to compare with either (replica 1 is behind, replica 2 down), so it takes
   * its own too; then, unless replica 3's file is the changed one, replica 2, whose log matches
   * replica 3's; then the front end, which elects replica 3. Replica 1's log ends before the
   * leader's, so the leader's first sync has it repair its log from its commit point on: there it
   * meets the difference. Returns that order's number.
   */
  const comeBackOnAChangedFile = async (changed: number): Promise<number> => {
    for (let i = 1; i <= 3; i++) await trade(`Stock${i}`);
    await c.converged();
    await c.signal('order-1', 'SIGTERM');
    const [{ value: commitNo }] = await readAll<{ value: number }>(join(c.dataDir, 'order-1.sqlite'), `SELECT value FROM replica_meta WHERE key = 'commit_no'`);
    expect(commitNo).toBeGreaterThanOrEqual(1);
    for (let i = 1; i <= 3; i++) await trade(`Stock${i}`);
    await c.signal('frontend', 'SIGTERM');
    await c.signal('order-2', 'SIGTERM');
    await c.signal('order-3', 'SIGTERM');
    await execSql(join(c.dataDir, `order-${changed}.sqlite`), `UPDATE orders SET quantity = quantity + 50, checksum = NULL WHERE order_no = ${commitNo}`);
    await c.startReplica(1);
    await waitFor('replica 1 to follow on its own log', async () => (await replicaStatus(c.token, c.replica(1), 1000)).body?.role === 'follower');
    await c.startReplica(3);
    await c.waitReady(3);
    if (changed !== 3) {
      await c.startReplica(2);
      await c.waitReady(2);
    }
    await c.startFrontend();
    expect(await c.waitLeading()).toBe(3);
    return commitNo;
  };

  /** Waits until replica `id`'s `/ping` refuses readiness with exactly `message` (or one it matches). */
  const refusedWith = async (id: number, message: string | RegExp) => {
    let last = '';
    await waitFor(`replica ${id} to refuse readiness with: ${message}`, async () => {
      const res = await http(`${c.replica(id)}/ping`, { timeoutMs: 2000 });
      last = `${res.status} ${JSON.stringify(res.body)}`;
      const said = String(res.body?.error?.message);
      return res.status === 503 && (typeof message === 'string' ? said === message : message.test(said));
    }).catch((e: Error) => {
      throw new Error(`${e.message}; its last answer: ${last}`);
    });
  };

  /** Waits until replica `id`'s `/ping` refuses readiness over its log, and returns the reason. */
  const refusedOverItsLogOn = async (id: number): Promise<string> => {
    const ping = await waitFor(`replica ${id} to refuse readiness over its log`, async () => {
      const res = await http(`${c.replica(id)}/ping`, { timeoutMs: 2000 });
      return res.status === 503 && /log differs from replica/.test(res.body?.error?.message ?? '') ? res : undefined;
    });
    expect(ping.body.code).toBe('not_ready');
    return ping.body.error.message;
  };

  /** The documented steps: stop replica `id`, delete its `order-<id>.sqlite*`, start it again; then every log is the same. */
  const rebuild = async (id: number) => {
    await c.signal(`order-${id}`, 'SIGTERM');
    for (const f of readdirSync(c.dataDir).filter((f) => f.startsWith(`order-${id}.sqlite`))) rmSync(join(c.dataDir, f));
    await c.startReplica(id);
    await c.waitReady(id);
    await trade('Stock6');
    return c.converged();
  };

  it('a replica that came back on a changed file while no peer answered: the leader\'s first sync finds the difference, and it stops following and vouches for nothing', async () => {
    const commitNo = await comeBackOnAChangedFile(1);
    expect(await refusedOverItsLogOn(1)).toBe(
      `not ready: its log differs from replica 3's below its commit point: order ${commitNo} is committed (commit point ${commitNo}) and cannot be replaced or dropped; ` +
        `replica 2 holds replica 3's copy of order ${commitNo}`,
    );
    // Logged before /ping can say so; the log file is written by this process's pipe, which may trail the answer.
    await waitFor("replica 1's log to say why it stopped following", async () => c.log('order-1').includes(`its log differs from the leader's: order ${commitNo} is committed`), 10000);
    // It vouches for none of its copies, the changed one included, and overwrote nothing.
    const direct = await c.internal(`${c.replica(1)}/query?order_no=${commitNo}`);
    expect(direct.status).toBe(503);
    expect(direct.body).toMatchObject({ code: 'not_committed', error: { code: 503, message: expect.stringContaining('its log is damaged') } });
    expect((await c.orderTable(1)).find((r) => r.order_no === commitNo)!.quantity).toBeGreaterThan(50);
    // Trading goes on with replicas 2 and 3, and the front end reads the order from them.
    await trade('Stock5');
    const viaFrontEnd = await http(`${c.frontend}/orders?order_no=${commitNo}`);
    expect(viaFrontEnd.status).toBe(200);
    expect(viaFrontEnd.body.data.quantity).toBeLessThan(50);
    expect(await rebuild(1)).toEqual(await c.orderTable(1));
  });

  /** Three trades, then every process stops with equal logs, and replica `id`'s copy of order 1 gets another quantity. */
  const stopAllAndChangeOrder1On = async (id: number) => {
    for (let i = 1; i <= 3; i++) await trade(`Stock${i}`);
    await c.converged(); // every log as advanced as the others
    for (const name of ['frontend', 'order-1', 'order-2', 'order-3']) await c.signal(name, 'SIGTERM');
    await execSql(join(c.dataDir, `order-${id}.sqlite`), 'UPDATE orders SET quantity = quantity + 50, checksum = NULL WHERE order_no = 1');
  };

  /**
   * Every process stops and replica `changed`'s order 1 changes; it starts alone, with nothing to
   * compare with, and takes its log as it is; then replica 1 finds the difference with it, while no
   * third copy answers to say whose.
   */
  const replica1Undecided = async (changed: number) => {
    await stopAllAndChangeOrder1On(changed);
    await c.startReplica(changed);
    await waitFor(`replica ${changed} to follow on its own log`, async () => (await replicaStatus(c.token, c.replica(changed), 1000)).body?.role === 'follower');
    await c.startReplica(1);
    await refusedWith(1, `not ready: its log differs from replica ${changed}'s, which is as advanced as it: order 1 is another order there`);
  };

  /** Starts the front end: it elects `leader`, trades go on, and it reads the original order 1. */
  const electedServingTheOriginal = async (leader: number, stock: string) => {
    await c.startFrontend();
    expect(await c.waitLeading()).toBe(leader);
    await trade(stock);
    const viaFrontEnd = await http(`${c.frontend}/orders?order_no=1`);
    expect(viaFrontEnd.status).toBe(200);
    expect(viaFrontEnd.body.data.quantity).toBeLessThan(50);
  };

  it('the same when the leader\'s file is the changed one: a third copy shows it, and the replica to rebuild is named as the leader', async () => {
    const commitNo = await comeBackOnAChangedFile(3);
    const differs = (commitPoint = commitNo) =>
      `not ready: its log differs from replica 3's below its commit point: order ${commitNo} is committed (commit point ${commitPoint}) and cannot be replaced or dropped`;
    // Replica 2 is down: no third copy says which of the two files differs, so neither is named.
    expect(await refusedOverItsLogOn(1)).toBe(differs());
    await waitFor("replica 1's log to say that it cannot tell", async () => c.log('order-1').includes('rebuild neither yet'), 10000);
    // Replica 2 starts: it finds the same difference with the leader, and replica 1's committed copy is its own.
    // (Its own commit point is further on: it did not miss the last orders.)
    const [{ value: commitOf2 }] = await readAll<{ value: number }>(join(c.dataDir, 'order-2.sqlite'), `SELECT value FROM replica_meta WHERE key = 'commit_no'`);
    await c.startReplica(2);
    const third = (id: number) => `; replica ${id} holds the same order ${commitNo} as this replica, so replica 3's copy is the one that differs from a majority`;
    await refusedWith(2, `${differs(commitOf2)}${third(1)}`);
    // Replica 1, comparing again, now has replica 2's copy on its side.
    await refusedWith(1, `${differs()}${third(2)}`);
    await waitFor("replica 1's log to name the replica to rebuild", async () => c.log('order-1').includes('rebuild replica 3 from its peers'), 10000);
    // Following that: replica 3 is rebuilt from the others, which then compare their logs with it, and every copy is the original.
    expect(await rebuild(3)).toEqual(await c.orderTable(1)); // replica 1's too
    expect((await c.orderTable(1)).find((r) => r.order_no === commitNo)!.quantity).toBeLessThan(50);
    expect((await c.orderTable(3)).find((r) => r.order_no === commitNo)!.quantity).toBeLessThan(50);
  });

  it('a replica that took its changed log as it is: two peers as advanced as it show it, and it is asked to compare again, so it stops serving before it can lead', async () => {
    // Replica 3 first, alone, takes its changed log as it is; replica 1 finds the difference, but cannot tell whose.
    await replica1Undecided(3);
    // Replica 2 matches replica 1 and differs from replica 3, whose copy replica 1's committed one outvotes: replica 3 is told.
    await c.startReplica(2);
    await c.waitReady(2);
    await waitFor("replica 2's log to name replica 3", async () => c.log('order-2').includes("replica 3's log differs from this one's, as advanced as it, at order 1; replica 1 holds this replica's copies"), 10000);
    const convicted = await refusedOverItsLogOn(3);
    expect(convicted).toMatch(/^not ready: its log differs from replica [12]'s, which is as advanced as it: order 1 is another order there; replica [12] holds replica [12]'s copy of order 1$/);
    await waitFor("replica 3's log to say why it stopped following", async () => c.log('order-3').includes('found its copy of order 1 differing from its own'), 10000);
    await c.waitReady(1);
    // So the front end elects replica 2, not replica 3, and reads the original order.
    await electedServingTheOriginal(2, 'Stock9');
    expect((await c.internal(`${c.replica(3)}/query?order_no=1`)).status).toBe(503);
    expect(await rebuild(3)).toEqual(await c.orderTable(3));
  });

  it('a whole cluster restarted with one replica\'s file changed: its peers, as advanced as it, show it at once; it vouches for nothing, even after a restart with no peer in reach, until rebuilt', async () => {
    await stopAllAndChangeOrder1On(2);
    const file = join(c.dataDir, 'order-2.sqlite');
    // Replica 1 takes its log as it is (nobody answers), replica 3 compares with it and they match; then replica 2 starts.
    await c.startReplica(1);
    await waitFor('replica 1 to follow on its own log', async () => (await replicaStatus(c.token, c.replica(1), 1000)).body?.role === 'follower');
    await c.startReplica(3);
    await c.waitReady(3);
    expect(c.log('order-3')).toContain("its log matches replica 1's, as advanced as it");
    await c.startReplica(2);
    const ping = await waitFor('replica 2 to refuse readiness over its log', async () => {
      const res = await http(`${c.replica(2)}/ping`, { timeoutMs: 2000 });
      return res.status === 503 && /log differs from replica/.test(res.body?.error?.message ?? '') ? res : undefined;
    });
    expect(ping.body).toEqual({
      error: {
        code: 503,
        // It compares with both (in the order they answered) and names the first difference, which the other's copy settles.
        message: expect.stringMatching(/^not ready: its log differs from replica ([13])'s, which is as advanced as it: order 1 is another order there; replica [13] holds replica \1's copy of order 1$/),
      },
      code: 'not_ready',
    });
    await waitFor("replica 2's log to say how to rebuild it", async () => c.log('order-2').includes(`delete (or move aside) ${file}* and start it again`), 10000);
    const direct = await c.internal(`${c.replica(2)}/query?order_no=1`);
    expect(direct.status).toBe(503);
    expect(direct.body).toMatchObject({ code: 'not_committed', error: { code: 503, message: expect.stringContaining('its log is damaged') } });
    await electedServingTheOriginal(3, 'Stock8');

    // Restarted while its peers cannot answer (paused), it remembers the difference: not ready, vouching for nothing.
    await c.signal('order-2', 'SIGTERM');
    await c.signal('order-1', 'SIGSTOP');
    await c.signal('order-3', 'SIGSTOP');
    try {
      await c.startReplica(2);
      const remembered = await waitFor('replica 2 to answer /ping', async () => {
        const res = await http(`${c.replica(2)}/ping`, { timeoutMs: 2000 }).catch(() => undefined);
        return res?.status === 503 ? res : undefined;
      });
      expect(remembered.body.error.message).toBe(
        "not ready: its log was found to differ from a peer's before it stopped, and must be compared again",
      );
      await new Promise((r) => setTimeout(r, 1500)); // several rounds with nobody to compare with
      expect((await http(`${c.replica(2)}/ping`, { timeoutMs: 2000 })).status).toBe(503);
      expect((await c.internal(`${c.replica(2)}/query?order_no=1`)).status).toBe(503);
    } finally {
      await c.signal('order-1', 'SIGCONT');
      await c.signal('order-3', 'SIGCONT');
    }
    await refusedOverItsLogOn(2);
    expect((await c.orderTable(2)).find((r) => r.order_no === 1)!.quantity).toBeGreaterThan(50); // nothing overwritten
    expect(await rebuild(2)).toEqual(await c.orderTable(2));
  });

  it('two replicas left and no third copy: neither file is named; the operator compares by hand, rebuilds the changed one and starts the other once with TRUST_OWN_LOG=true', async () => {
    // Replica 3 stays down. Replica 2 takes its changed log as it is (see *Not caught*), and replica 1 cannot tell whose copy changed.
    await replica1Undecided(2);
    await waitFor("replica 1's log to show both copies and say what to do", async () => /\(this replica's copy: .*\).*rebuild neither yet.*start the other once with TRUST_OWN_LOG=true/.test(c.log('order-1')), 10000);
    expect((await c.internal(`${c.replica(1)}/query?order_no=1`)).status).toBe(503);
    // The operator finds replica 2's copy changed: replica 2 is rebuilt, and replica 1 starts once with the override.
    await c.signal('order-1', 'SIGTERM');
    await c.signal('order-2', 'SIGTERM');
    for (const f of readdirSync(c.dataDir).filter((f) => f.startsWith('order-2.sqlite'))) rmSync(join(c.dataDir, f));
    await c.startReplica(1, { TRUST_OWN_LOG: 'true' });
    // Rebuilt with replica 3 down: the operator says so (it would wait for both peers otherwise).
    await c.startReplica(2, { REJOIN_WITH_PEERS_DOWN: 'true' });
    await c.waitReady(1);
    await c.waitReady(2);
    expect(c.log('order-1')).toContain('TRUST_OWN_LOG=true: its log was found to differ');
    await electedServingTheOriginal(2, 'Stock4');
    // Replica 3 comes back and catches up: every log the same, with the original order.
    await c.startReplica(3);
    await c.waitReady(3);
    expect((await c.converged()).find((r) => r.order_no === 1)!.quantity).toBeLessThan(50);
  });

  it('a front end that cannot write its epoch: a clear error, 503 in each route\'s shape, no 500; it elects once the disk is back', async () => {
    const epochFile = join(c.dataDir, 'frontend-epoch.json');
    const before = JSON.parse(readFileSync(epochFile, 'utf8')) as { epoch: number };
    // The temporary file's path is a directory: writing the epoch fails with EISDIR.
    mkdirSync(`${epochFile}.tmp`);
    const logBefore = c.log('frontend').length;
    await c.kill(`order-${await c.leaderId()}`);

    await waitFor('the failed election in the front end\'s log', async () => c.log('frontend').slice(logBefore).includes('cannot elect a leader'), 15000);
    const logged = c.log('frontend').slice(logBefore);
    expect(logged).toContain(`cannot record epoch ${before.epoch + 1} in ${epochFile}`);
    expect(logged).toContain('EISDIR');

    const leader = await http(`${c.frontend}/leader`);
    expect(leader.status).toBe(503);
    // No leader is the state it reports, with why: the replicas are ready, the election failed.
    expect(leader.body).toEqual({ error: { code: 503, message: 'no leader yet: 2 of 3 order replicas are ready, and none could be elected' }, code: 'no_leader' });
    const res = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ order_no: -1, message: expect.any(String) });
    // Lookups do not need a leader.
    expect((await http(`${c.frontend}/stocks?stock_name=Stock1`)).status).toBe(200);
    expect((await http(`${c.frontend}/orders?order_no=${acked[0].order_no}`)).status).toBe(200);
    expect(c.isRunning('frontend')).toBe(true);
    expect(c.log('frontend').slice(logBefore)).not.toMatch(/"statusCode":500|\b500\b.*Internal/);
    expect(JSON.parse(readFileSync(epochFile, 'utf8'))).toEqual(before); // nothing handed out that is not on disk

    // The disk is back: the heartbeat's next round elects, and the epoch is on disk.
    rmSync(`${epochFile}.tmp`, { recursive: true });
    const next = await waitFor('a leader again', async () => {
      const r = await http(`${c.frontend}/leader`, { timeoutMs: 2000 });
      return r.status === 200 ? (r.body as { leader: number; epoch: number }) : undefined;
    }, 15000);
    expect(next.epoch).toBeGreaterThan(before.epoch);
    expect(JSON.parse(readFileSync(epochFile, 'utf8'))).toEqual({ epoch: next.epoch });
    await trade('Stock2');
  });

  it('a catalog whose file refuses the write of its lease span at start: one line naming the file and the reason, no stack, exit 1; it starts once the file takes writes again', async () => {
    await c.signal('catalog', 'SIGTERM');
    const file = join(c.dataDir, 'catalog.sqlite');
    // No span recorded, so the start must write one, and the file refuses it, as a full disk or a
    // read-only file would.
    await execSql(file, `DELETE FROM catalog_meta; CREATE TRIGGER refuse_span BEFORE INSERT ON catalog_meta BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;`);
    const before = c.log('catalog').length;
    await failedStart('catalog', 'catalog');
    // Its stdout and stderr reach the log file through two pipes: wait for both to be copied.
    await waitFor('the failure line in the log', async () => c.log('catalog').slice(before).includes('catalog: cannot record'), 10000);
    const printed = c.log('catalog').slice(before);
    // Its structured logs (the test clusters log at `log`), TypeORM's failed query among them, are
    // JSON lines; the failure is the one line that is not, and there is no stack.
    const plain = printed.trimEnd().split('\n').filter((l) => !l.startsWith('{'));
    expect(plain).toHaveLength(1);
    expect(plain[0]).toMatch(new RegExp(`^catalog: cannot record the cache lease span in database file ${escapeRegExp(file)} \\(SQLITE_CONSTRAINT: refused by the test\\); .+start it again$`));
    expect(printed).not.toMatch(/^\s+at /m);
    await execSql(file, 'DROP TRIGGER refuse_span;');
    await c.startCatalog();
    await trade('Stock3');
    await waitFor('the span recorded', async () => (await readAll<{ value: number }>(file, `SELECT value FROM catalog_meta`)).length === 1, 10000);
  });

  it('a corrupt catalog database: one line naming it, exit 1', async () => {
    await c.signal('catalog', 'SIGTERM');
    const file = join(c.dataDir, 'catalog.sqlite');
    corrupt(file);
    const printed = await failedStart('catalog', 'catalog');
    expect(printed).toMatch(new RegExp(`^catalog: database file ${escapeRegExp(file)} is unreadable or corrupt \\(SQLITE_NOTADB: file is not a database\\); .+\\n$`));
    expect(printed.split('\n')).toHaveLength(2);
  });
});
