import { join } from 'node:path';
import { orderChecksum } from '@app/contracts/checksum';
import { Cluster, execSql, http, placeOrder, readAll, replicaStatus, requestsAnswered, waitFor } from './support/cluster';

/**
 * Each order log entry carries the checksum its leader computed (orderChecksum), on real processes:
 * - a replica whose file was changed while it was down finds the entry at start by itself, even
 *   with every peer paused: it serves neither the entry nor anything else, is no source for its
 *   peers, says which order of which file, and once a peer answers puts the committed copy back;
 *   no rebuild, and its file ends equal to its peers';
 * - the same for the leader's file across a whole-cluster restart: the front end reads the
 *   original order, and the cluster trades on;
 * - changed while the replicas run, found by the first read from the file: the leader refuses
 *   the entry, puts it back from a follower and keeps leading; a follower stops serving and
 *   recovers with the entry put back;
 * - a new entry (still in the leader's memory) changed on its disk, found by a retried trade's key
 *   lookup: written back from memory, and the retry answered with the original order;
 * - a sync whose entry does not match its checksum is refused with a 400 and writes nothing;
 * - a restarted replica reads from its source about what it missed, not the entries its checksums
 *   vouch for (counted in pages of the source's `GET /replication/log`); from an entry without a
 *   checksum on, it compares its log with the source's again; a whole-cluster restart reads next to
 *   none of the logs, also when a peer is caught still checking its file (its peers wait for it).
 * (An entry without a checksum, as written before checksums, is left to the comparison of copies:
 * test/disk-faults.e2e-spec.ts.)
 */
interface ChecksumRow {
  order_no: number;
  request_id: string;
  stock_name: string;
  trade_type: string;
  quantity: number;
  idempotency_key: string;
  created_at: number;
  checksum: string | null;
}

describe('order log checksums', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start();
  });
  afterAll(() => c?.stop());

  const fileOf = (id: number) => join(c.dataDir, `order-${id}.sqlite`);
  const rowsOf = (id: number) => readAll<ChecksumRow>(fileOf(id), 'SELECT order_no, request_id, stock_name, trade_type, quantity, idempotency_key, created_at, checksum FROM orders ORDER BY order_no');
  const trades = async (n: number) => {
    for (let i = 1; i <= n; i++) {
      const res = await placeOrder(c.frontend, { stock_name: `Stock${i}`, trade_type: 'buy', quantity: 1 });
      expect(res.status).toBe(200);
    }
    return c.converged();
  };
  /** Waits until replica `id`'s `/ping` refuses readiness because order `orderNo` of its file does not match its checksum. */
  const refusedOverChecksum = async (id: number, orderNo: number) => {
    const message = `not ready: order ${orderNo} in ${fileOf(id)} does not match its checksum (changed or damaged on disk), and no peer has answered with a committed copy, nor a leader or a replica as advanced to fetch it from, yet: it serves nothing and asks again every second`;
    let last = '';
    await waitFor(`replica ${id} to refuse readiness over order ${orderNo}'s checksum`, async () => {
      const res = await http(`${c.replica(id)}/ping`, { timeoutMs: 2000 }).catch(() => undefined);
      last = `${res?.status} ${JSON.stringify(res?.body)}`;
      return res?.status === 503 && res.body?.error?.message === message;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; its last answer: ${last}`);
    });
  };

  it('a follower\'s file changed while it was down, restarted with its peers paused: it finds the entry alone, serves nothing, and puts the committed copy back once a peer answers', async () => {
    await trades(3);
    const leader = await c.leaderId();
    const id = [1, 2, 3].find((r) => r !== leader)!;
    const others = [1, 2, 3].filter((r) => r !== id);
    const original = (await rowsOf(id))[0];
    expect(original.checksum).toBe(orderChecksum(original)); // the leader's checksum, copied with the entry

    await c.signal(`order-${id}`, 'SIGTERM');
    // A committed order now has another quantity; its checksum is left as it was.
    await execSql(fileOf(id), 'UPDATE orders SET quantity = quantity + 50 WHERE order_no = 1');
    for (const other of others) await c.signal(`order-${other}`, 'SIGSTOP');
    try {
      await c.startReplica(id);
      // No peer to compare with: before checksums it took this log as it was (the README's old *Not caught*).
      await refusedOverChecksum(id, 1);
      await new Promise((r) => setTimeout(r, 1500)); // several rounds with nobody to ask
      expect((await http(`${c.replica(id)}/ping`, { timeoutMs: 2000 })).status).toBe(503);
      expect((await replicaStatus(c.token, c.replica(id), 2000)).body).toMatchObject({ role: 'recovering', ready: false, log_suspect: true });
      // It vouches for nothing, and no peer can copy the changed entry from it.
      expect((await c.internal(`${c.replica(id)}/query?order_no=1`)).status).toBe(503);
      const page = await c.internal(`${c.replica(id)}/replication/log?after=0&limit=10`);
      expect(page.status).toBe(503);
      expect(page.body).toMatchObject({ code: 'not_ready', error: { code: 503, message: expect.stringContaining(`order 1 in ${fileOf(id)} does not match its checksum`) } });
      expect(c.log(`order-${id}`)).toContain(`order 1 in ${fileOf(id)} does not match its checksum: the file was changed or damaged on disk`);
    } finally {
      for (const other of others) await c.signal(`order-${other}`, 'SIGCONT');
    }

    await c.waitReady(id);
    await waitFor(`replica ${id} to say it repaired order 1`, async () => /order 1 repaired from replica [123]'s committed copy, which matches its checksum/.test(c.log(`order-${id}`)), 10000);
    expect((await rowsOf(id))[0]).toEqual(original); // put back as it was, checksum and all
    await trades(1);
    expect(await rowsOf(id)).toEqual(await rowsOf(others[0]));
  });

  it('the leader\'s file changed across a whole-cluster restart: it puts the order back from a follower before it serves, and the front end reads the original', async () => {
    await trades(2);
    const leader = await c.leaderId();
    const original = (await rowsOf(leader))[1];
    for (const name of ['frontend', 'order-1', 'order-2', 'order-3']) await c.signal(name, 'SIGTERM');
    await execSql(fileOf(leader), "UPDATE orders SET stock_name = 'Stock9', quantity = 77 WHERE order_no = 2");

    for (const id of [1, 2, 3]) await c.startReplica(id);
    for (const id of [1, 2, 3]) await c.waitReady(id);
    await c.startFrontend();
    await c.waitLeading();
    expect(c.log(`order-${leader}`)).toMatch(/order 2 repaired from replica [123]'s committed copy, which matches its checksum/);
    expect((await rowsOf(leader))[1]).toEqual(original);
    const lookup = await http(`${c.frontend}/orders?order_no=2`);
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({ data: { order_no: 2, stock_name: original.stock_name, trade_type: original.trade_type, quantity: original.quantity } });
    const tables = await trades(1);
    expect(tables.length).toBeGreaterThan(2);
  });

  it('changed while the replicas run: the leader refuses the entry, puts it back from a follower and keeps leading; a follower stops serving and recovers with it put back', async () => {
    // Since the restart above, orders 1 and 2 are read from the files (only new entries are kept in memory).
    const leader = await c.leaderId();
    const follower = [1, 2, 3].find((r) => r !== leader)!;
    const originals = (await rowsOf(leader)).slice(0, 2);
    await execSql(fileOf(leader), 'UPDATE orders SET quantity = quantity + 40 WHERE order_no = 1');
    await execSql(fileOf(follower), 'UPDATE orders SET quantity = quantity + 40 WHERE order_no = 2');

    // The first lookup reads order 1 from the leader's file: the leader refuses it (503), and the
    // front end reads it from a follower: the client sees the original, never the changed quantity.
    const asOriginal = { data: { order_no: 1, stock_name: originals[0].stock_name, trade_type: originals[0].trade_type, quantity: originals[0].quantity } };
    expect((await http(`${c.frontend}/orders?order_no=1`)).body).toEqual(asOriginal);
    await waitFor("the leader to log order 1's checksum", async () => c.log(`order-${leader}`).includes(`order 1 in ${fileOf(leader)} does not match its checksum: the file was changed or damaged on disk`), 10000);
    await waitFor('the leader to say it repaired order 1', async () => /order 1 repaired from replica [123]'s committed copy/.test(c.log(`order-${leader}`)), 15000);
    expect((await http(`${c.frontend}/orders?order_no=1`)).body).toEqual(asOriginal);
    expect(await c.leaderId()).toBe(leader);

    const direct = await c.internal(`${c.replica(follower)}/query?order_no=2`);
    expect(direct.status).toBe(503);
    await waitFor(`replica ${follower} to say it repaired order 2`, async () => /order 2 repaired from replica [123]'s committed copy/.test(c.log(`order-${follower}`)), 15000);
    await c.waitReady(follower);
    expect((await c.internal(`${c.replica(follower)}/query?order_no=2`)).status).toBe(200);
    await trades(1);
    expect((await rowsOf(follower)).slice(0, 2)).toEqual(originals);
    expect((await rowsOf(leader)).slice(0, 2)).toEqual(originals);
  });

  it('a new entry changed on the leader\'s disk, found by a retried trade\'s key lookup: put back from the copy the leader holds in memory, and the retry answered with the original order', async () => {
    const key = `checksum-retry-${Date.now()}`;
    const order = { stock_name: 'Stock4', trade_type: 'buy', quantity: 2 };
    const placed = await placeOrder(c.frontend, order, key);
    expect(placed.status).toBe(200);
    await c.converged();
    const leader = await c.leaderId();
    await execSql(fileOf(leader), `UPDATE orders SET quantity = 44 WHERE order_no = ${placed.body.order_no}`);

    // The retry's key lookup reads the entry from the leader's file: refused, put back, answered.
    const retried = await placeOrder(c.frontend, order, key);
    expect({ status: retried.status, order_no: retried.body.order_no }).toEqual({ status: 200, order_no: placed.body.order_no });
    expect(c.log(`order-${leader}`)).toContain(`order ${placed.body.order_no} in ${fileOf(leader)} does not match its checksum`);
    await waitFor('the leader to say it put the entry back from memory', async () => c.log(`order-${leader}`).includes(`order ${placed.body.order_no} put back from the copy it holds in memory, as written`), 10000);
    expect(await c.leaderId()).toBe(leader);
    const row = (await rowsOf(leader)).find((r) => r.order_no === placed.body.order_no)!;
    expect(row).toMatchObject({ quantity: 2, checksum: orderChecksum(row) });
    expect(await c.converged()).toHaveLength(placed.body.order_no); // no second order for the retry
  });

  it('a sync whose entry does not match its checksum is refused with a 400, and nothing of it is written', async () => {
    const leader = await c.leaderId();
    const follower = [1, 2, 3].find((r) => r !== leader)!;
    const status = (await replicaStatus(c.token, c.replica(follower), 2000)).body;
    const entry = { order_no: status.last_no + 1, epoch: status.epoch, request_id: 'forged-entry', stock_name: 'Stock1', trade_type: 'buy', quantity: 1, created_at: Date.now() };
    const before = await rowsOf(follower);
    const res = await c.internal(`${c.replica(follower)}/sync`, {
      body: {
        leader,
        epoch: status.epoch,
        commit_no: status.commit_no,
        reconciled_seq: 0,
        prev: { order_no: status.last_no, epoch: status.last_epoch },
        orders: [{ ...entry, checksum: orderChecksum({ ...entry, quantity: 2 }) }],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: `order ${entry.order_no} does not match its checksum: it was changed on its way from the leader, and is not written` });
    expect(await rowsOf(follower)).toEqual(before);
    const malformed = await c.internal(`${c.replica(follower)}/sync`, { body: { leader, epoch: status.epoch, commit_no: 0, reconciled_seq: 0, orders: [{ ...entry, checksum: 'not-hex' }] } });
    expect(malformed.status).toBe(400);
  });
});

describe('a restart, with every entry vouched for by its checksum', () => {
  const PAGE = 10;
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ env: { CATCH_UP_PAGE_SIZE: String(PAGE) } });
  });
  afterAll(() => c?.stop());

  const fileOf = (id: number) => join(c.dataDir, `order-${id}.sqlite`);
  const entriesOf = (id: number) => readAll(fileOf(id), 'SELECT order_no, epoch, request_id, stock_name, trade_type, quantity, idempotency_key, created_at FROM orders ORDER BY order_no');
  /** Pages of their logs the peers of replica `id` served (`GET /replication/log` answered 200), summed. */
  const pagesServed = async (id: number) => {
    const peers = [1, 2, 3].filter((r) => r !== id);
    return (await Promise.all(peers.map((r) => requestsAnswered(c.replica(r), '/replication/log')))).reduce((a, b) => a + b, 0);
  };
  const trades = async (n: number) => {
    for (let i = 0; i < n; i++) {
      // A buy, then a sell of the same stock: every stock stays within its capacity.
      const res = await placeOrder(c.frontend, { stock_name: `Stock${(Math.floor(i / 2) % 10) + 1}`, trade_type: i % 2 === 0 ? 'buy' : 'sell', quantity: 1 });
      expect([i, res.status]).toEqual([i, 200]);
    }
  };
  /** SIGKILLs follower `id`, places `missed` trades, runs `changeFile` on its file, restarts it: the pages its recovery read. */
  const restart = async (id: number, missed: number, changeFile: () => Promise<void> = async () => undefined) => {
    await c.kill(`order-${id}`);
    await trades(missed);
    await changeFile();
    const before = await pagesServed(id);
    await c.startReplica(id);
    await c.waitReady(id);
    const pages = (await pagesServed(id)) - before;
    const leader = await c.leaderId();
    await c.converged();
    expect(await entriesOf(id)).toEqual(await entriesOf(leader));
    return pages;
  };

  it('reads from its source what it missed, not the log it holds; from an entry without a checksum on, it compares again', async () => {
    await trades(60);
    await c.converged();
    const leader = await c.leaderId();
    const follower = [1, 2, 3].find((r) => r !== leader)!;

    // Comparing the whole log, as before checksums, would read 7 pages of 10.
    const pages = await restart(follower, 5);
    expect(pages).toBeLessThanOrEqual(2);
    expect(c.log(`order-${follower}`)).toMatch(/checked 6\d entries against their checksums in \d+ ms: all match"/);

    // Order 5 loses its checksum, as an entry written before checksums: compared from there on.
    const legacy = await restart(follower, 1, () => execSql(fileOf(follower), 'UPDATE orders SET checksum = NULL WHERE order_no = 5'));
    expect(legacy).toBeGreaterThanOrEqual(7);
    expect(c.log(`order-${follower}`)).toContain('entries after order 4 carry no checksum or a number is missing, so they are compared with a peer\'s');
  });
});

describe('a whole-cluster restart, with every entry vouched for by its checksum', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ env: { CATCH_UP_PAGE_SIZE: '10' } });
  });
  afterAll(() => c?.stop());

  it('reads next to none of the logs: its peers, equally advanced, vouch for every entry as it does', async () => {
    for (let i = 0; i < 40; i++) {
      const res = await placeOrder(c.frontend, { stock_name: `Stock${(Math.floor(i / 2) % 10) + 1}`, trade_type: i % 2 === 0 ? 'buy' : 'sell', quantity: 1 });
      expect([i, res.status]).toEqual([i, 200]);
    }
    await c.converged();
    const ids = [1, 2, 3];
    for (const id of ids) await c.kill(`order-${id}`);
    // All at once, as `npm start` starts them: a peer may still be checking its file when asked.
    await Promise.all(ids.map((id) => c.startReplica(id)));
    await Promise.all(ids.map((id) => c.waitReady(id)));
    // Counted from each process's start: every page served since the restart. Comparing whole logs
    // would read 5 pages of 10 per pair of replicas; a replica that recovers once a leader is
    // elected reads one page past its commit point.
    const served = await Promise.all(ids.map((id) => requestsAnswered(c.replica(id), '/replication/log')));
    expect(served.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3);
    await c.waitLeading();
    const res = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    expect(res.status).toBe(200);
    await c.converged();
  });
});

describe('a whole-cluster restart, with a peer still checking its file', () => {
  /**
   * Entries added to every file while the cluster is down, the same on each, every one with its
   * checksum: a check at start long enough to be caught in. Comparing whole logs would read
   * this many / 1000 pages per pair of replicas.
   */
  const ADDED = 150_000;
  const ids = [1, 2, 3];
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start();
  });
  afterAll(() => c?.stop());

  const fileOf = (id: number) => join(c.dataDir, `order-${id}.sqlite`);
  /**
   * Appends {@link ADDED} entries after order `last` to replica `id`'s file, stamped `epoch`, as
   * its leader would have written them, and sets its commit point to the last: as a leader that had
   * them all acknowledged and told every follower so (a new leader sends again every entry above
   * the commit point, to stamp them: see LeadershipService.adoptInherited).
   */
  const appendEntries = async (id: number, last: number, epoch: number, createdAt: number) => {
    const statements = ['BEGIN'];
    for (let from = 1; from <= ADDED; from += 5000) {
      const rows: string[] = [];
      for (let i = from; i < Math.min(from + 5000, ADDED + 1); i++) {
        const entry = { order_no: last + i, request_id: `added-${i}`, stock_name: 'Stock1', trade_type: 'buy', quantity: 1, created_at: createdAt };
        rows.push(`(${entry.order_no}, ${epoch}, '${entry.request_id}', 'Stock1', 'buy', 1, '${entry.request_id}', ${createdAt}, '${orderChecksum(entry)}')`);
      }
      statements.push(`INSERT INTO orders (order_no, epoch, request_id, stock_name, trade_type, quantity, idempotency_key, created_at, checksum) VALUES ${rows.join(', ')}`);
    }
    statements.push(`UPDATE replica_meta SET value = ${last + ADDED} WHERE key = 'commit_no'`, 'COMMIT');
    await execSql(fileOf(id), statements.join(';\n'));
  };
  /**
   * Lets process `name` run a fifth of the time (SIGSTOP for 40 ms, SIGCONT for 10 ms), as on a
   * much slower host, until `done()`; it still answers its peers, only late.
   */
  const crawl = async (name: string, done: () => boolean) => {
    try {
      while (!done()) {
        await c.signal(name, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 40));
        await c.signal(name, 'SIGCONT');
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await c.signal(name, 'SIGCONT');
    }
  };

  it('its peers wait for its check instead of reading its whole log: nothing is compared that both checksums vouch for', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await placeOrder(c.frontend, { stock_name: `Stock${(Math.floor(i / 2) % 10) + 1}`, trade_type: i % 2 === 0 ? 'buy' : 'sell', quantity: 1 });
      expect([i, res.status]).toEqual([i, 200]);
    }
    await c.converged();
    const [last] = await readAll<{ order_no: number; epoch: number }>(fileOf(1), 'SELECT order_no, epoch FROM orders ORDER BY order_no DESC LIMIT 1');
    for (const id of ids) await c.kill(`order-${id}`);
    const createdAt = Date.now();
    for (const id of ids) await appendEntries(id, last.order_no, last.epoch, createdAt);
    const total = last.order_no + ADDED;

    // All three at once, replica 3 slowed down from the moment it listens, while it checks its file.
    const checked = () => c.log('order-3').includes(`checked ${total} entries against their checksums`);
    await Promise.all([c.startReplica(1), c.startReplica(2), c.startReplica(3).then(() => crawl('order-3', checked))]);
    await Promise.all(ids.map((id) => c.waitReady(id)));

    // Every page served since the restart: comparing whole logs would read 150 pages per pair.
    const served = await Promise.all(ids.map((id) => requestsAnswered(c.replica(id), '/replication/log')));
    expect(served.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3);
    // Because its peers saw it checking (`checking_log`) and waited, rather than compare their
    // logs with one that vouched for nothing yet.
    const waited = [1, 2].filter((id) => c.log(`order-${id}`).includes('replica 3 is still checking its file against its checksums: waiting for it'));
    expect(waited.length).toBeGreaterThan(0);
    await c.waitLeading();
    const res = await placeOrder(c.frontend, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    expect((await c.converged()).length).toBe(total + 1);
  });
});
