import { frontendOutages, historyStats, partitionWindows, type ClientOp, type FaultEvent, type ReadbackOp, type TradeOp } from './history';
import { check, CHECK_TITLES, type CheckId, type CheckInput, type NemesisMode } from './history-checks';
import type { LogRow, StockRow } from './rows';

/**
 * Crafted histories: a clean one passes every check, and each one that breaks a single property
 * (and is otherwise consistent) fails exactly that check — so the checker is proven able to fail.
 */

type Trade = Pick<TradeOp, 'key' | 'stock_name' | 'trade_type' | 'quantity'>;

class HistoryBuilder {
  private t = 0;
  private id = 1;
  readonly ops: ClientOp[] = [];

  private times() {
    const invoke = (this.t += 10);
    return { invoke, complete: (this.t += 5) };
  }

  read(session: number, stock_name: string, trade_volume: number, quantity = 100 - trade_volume): this {
    this.ops.push({ type: 'op', kind: 'read', id: this.id++, session, stock_name, trade_volume, quantity, outcome: 'ok', status: 200, ...this.times() });
    return this;
  }

  ok(session: number, trade: Trade, order_no: number, attempt = 1): this {
    this.ops.push({ type: 'op', kind: 'trade', id: this.id++, session, ...trade, attempt, outcome: 'ok', status: 200, order_no, ...this.times() });
    return this;
  }

  refused(session: number, trade: Trade, attempt = 1): this {
    this.ops.push({ type: 'op', kind: 'trade', id: this.id++, session, ...trade, attempt, outcome: 'fail', status: 409, reason: 'refused', error: 'Trade failed!', ...this.times() });
    return this;
  }

  /** A lookup that got no stock: `status` 503 (outcome fail) or 0 (no answer: unknown). */
  failedRead(session: number, stock_name: string, status: number, error: string): this {
    this.ops.push({ type: 'op', kind: 'read', id: this.id++, session, stock_name, outcome: status === 0 ? 'unknown' : 'fail', status, error, ...this.times() });
    return this;
  }

  unknown(session: number, trade: Trade, status: number, error: string, attempt = 1): this {
    this.ops.push({ type: 'op', kind: 'trade', id: this.id++, session, ...trade, attempt, outcome: 'unknown', status, error, ...this.times() });
    return this;
  }

  /** Marks the last operation as sent to `frontend`. */
  on(frontend: string): this {
    this.ops[this.ops.length - 1].frontend = frontend;
    return this;
  }

  /** Looks every acknowledged order number up, answering from `log` (404 when it has no such order). */
  readback(log: LogRow[]): this {
    const nos = new Map<number, string>();
    for (const op of this.ops) if (op.kind === 'trade' && op.outcome === 'ok') nos.set(op.order_no!, op.key);
    for (const [order_no, key] of nos) {
      const row = log.find((r) => r.order_no === order_no);
      const op: ReadbackOp = row
        ? { type: 'op', kind: 'readback', id: this.id++, session: 0, order_no, key, outcome: 'ok', status: 200, data: { order_no, stock_name: row.stock_name, trade_type: row.trade_type, quantity: row.quantity }, ...this.times() }
        : { type: 'op', kind: 'readback', id: this.id++, session: 0, order_no, key, outcome: 'fail', status: 404, error: 'order not found', ...this.times() };
      this.ops.push(op);
    }
    return this;
  }
}

const k1: Trade = { key: 'k1', stock_name: 'Stock1', trade_type: 'buy', quantity: 5 };
const k2: Trade = { key: 'k2', stock_name: 'Stock2', trade_type: 'sell', quantity: 2 }; // over capacity: refused
const k3: Trade = { key: 'k3', stock_name: 'Stock2', trade_type: 'BUY', quantity: 3 };
const k4: Trade = { key: 'k4', stock_name: 'Stock1', trade_type: 'Buy', quantity: 1 };
const k5: Trade = { key: 'k5', stock_name: 'Stock3', trade_type: 'sell', quantity: 4 };

const row = (order_no: number, t: Trade, epoch = 1): LogRow => ({ order_no, epoch, request_id: t.key, stock_name: t.stock_name, trade_type: t.trade_type, quantity: t.quantity });

/** The catalog a log implies (every stock starting at 100). */
function catalogFor(log: LogRow[]): StockRow[] {
  return ['Stock1', 'Stock2', 'Stock3'].map((name) => {
    const mine = log.filter((r) => r.stock_name === name);
    const bought = mine.filter((r) => r.trade_type.toLowerCase() === 'buy').reduce((n, r) => n + r.quantity, 0);
    const sold = mine.filter((r) => r.trade_type.toLowerCase() === 'sell').reduce((n, r) => n + r.quantity, 0);
    return { name, quantity: 100 - bought + sold, trade_volume: bought + sold };
  });
}

const CLEAN_LOG = [row(1, k1), row(2, k3), row(3, k4, 2)];

/** Two sessions: reads, three acknowledged trades, one refusal; all replicas identical. */
function cleanHistory(): HistoryBuilder {
  return new HistoryBuilder()
    .read(1, 'Stock1', 0)
    .ok(1, k1, 1)
    .read(2, 'Stock2', 0)
    .read(1, 'Stock1', 5)
    .refused(1, k2)
    .ok(2, k3, 2)
    .ok(2, k4, 3)
    .read(2, 'Stock1', 6)
    .read(1, 'Stock2', 3);
}

function input(h: HistoryBuilder, log: LogRow[], opts: { logs?: Record<string, LogRow[] | null>; catalog?: StockRow[]; nemesis?: NemesisMode } = {}): CheckInput {
  h.readback(log);
  return {
    nemesis: opts.nemesis ?? 'default',
    ops: h.ops,
    logs: opts.logs ?? { 'order-1': log, 'order-2': log, 'order-3': log },
    catalog: opts.catalog ?? catalogFor(log),
  };
}

const failing = (i: CheckInput): CheckId[] =>
  check(i)
    .checks.filter((c) => c.verdict === 'fail')
    .map((c) => c.id);

/** The attempt of `key` (its first unless told). */
const tradeOp = (h: HistoryBuilder, key: string, attempt = 1): TradeOp => h.ops.find((o): o is TradeOp => o.kind === 'trade' && o.key === key && o.attempt === attempt)!;

const result = (i: CheckInput, id: CheckId) => check(i).checks.find((c) => c.id === id)!;

describe('chaos history checker', () => {
  it('passes a clean history on every check, in both nemesis modes', () => {
    for (const nemesis of ['default', 'aggressive'] as const) {
      const report = check(input(cleanHistory(), CLEAN_LOG, { nemesis }));
      expect(report.checks.map((c) => [c.id, c.verdict, c.violations])).toEqual(report.checks.map((c) => [c.id, 'pass', []]));
      expect(report.ok).toBe(true);
      expect(report.checks).toHaveLength(14);
    }
  });

  it('keeps the report\'s check ids and titles, in order', () => {
    const report = check(input(cleanHistory(), CLEAN_LOG));
    expect(report.checks.map((c) => [c.id, c.title])).toEqual([
      ['acked-present', 'no acknowledged order lost'],
      ['unique-numbers', 'no order number used twice'],
      ['unique-keys', 'no idempotency key used twice'],
      ['no-gaps', 'order numbers 1..N without gaps'],
      ['identical-logs', 'identical logs, epochs included'],
      ['epochs-recorded', 'every log entry carries its epoch'],
      ['epochs-monotonic', 'epochs never decrease along a log'],
      ['catalog', 'catalog matches the log'],
      ['monotonic-reads', 'monotonic reads (per session)'],
      ['acked-visible', 'reads show every trade acknowledged before them'],
      ['client-failures', 'no client-visible failures'],
      ['refused-not-applied', 'refused trades never applied'],
      ['no-phantoms', 'every logged order was requested'],
      ['readback', 'order lookups agree with the log'],
    ]);
    expect(Object.entries(CHECK_TITLES)).toEqual(report.checks.map((c) => [c.id, c.title]));
  });

  it('counts what it checked', () => {
    const i = input(cleanHistory(), CLEAN_LOG);
    expect(result(i, 'acked-present').counts).toMatchObject({ acknowledged: 3, present: 3, missing: 0 });
    expect(result(i, 'no-gaps').counts).toMatchObject({ N: 3, 'missing numbers': 0 });
    expect(result(i, 'identical-logs').counts).toMatchObject({ replicas: 3, identical: 3, differing: 0 });
    expect(result(i, 'monotonic-reads').counts).toMatchObject({ reads: 5, sessions: 2, regressions: 0 });
    expect(result(i, 'acked-visible').counts).toEqual({ reads: 5, stale: 0, 'raised by the log': 0 });
    expect(result(i, 'client-failures').counts).not.toHaveProperty('no answer from a killed front end');
    expect(result(i, 'refused-not-applied').counts).toMatchObject({ refused: 1, applied: 0 });
    expect(result(i, 'readback').counts).toMatchObject({ lookups: 3, agree: 3 });
    expect(historyStats(i.ops)).toMatchObject({
      reads: { total: 5, ok: 5 },
      trades: { total: 4, ok: 3, refused: 1, failed: 0, unknown: 0 },
      operations: { total: 9, ok: 8, fail: 1, unknown: 0 },
    });
  });

  it('lost acknowledged order: fails "acked-present" only', () => {
    const i = input(cleanHistory().ok(1, k5, 4), CLEAN_LOG);
    expect(failing(i)).toEqual(['acked-present']);
    expect(result(i, 'acked-present').counts).toMatchObject({ acknowledged: 4, missing: 1 });
    expect(result(i, 'acked-present').violations[0]).toMatch(/k5 .*order 4.* is not in the log/);
  });

  it('acknowledged order logged with other data: fails "acked-present" (and "no-phantoms": the log holds what nobody sent)', () => {
    const log = [row(1, k1), row(2, { ...k3, quantity: 4 }), row(3, k4, 2)];
    const i = input(cleanHistory(), log);
    expect(failing(i)).toEqual(['acked-present', 'no-phantoms']);
    expect(result(i, 'acked-present').counts).toMatchObject({ mismatched: 1 });
  });

  it('one order number acknowledged to two clients: fails "unique-numbers" only', () => {
    const h = new HistoryBuilder().read(1, 'Stock1', 0).ok(1, k1, 1).ok(2, k3, 2).ok(1, k4, 2);
    const i = input(h, CLEAN_LOG);
    expect(failing(i)).toEqual(['unique-numbers']);
    expect(result(i, 'unique-numbers').violations.join('\n')).toMatch(/order number 2 was acknowledged to 2 different keys: k3, k4/);
  });

  it('one key acknowledged with two numbers: fails "unique-numbers"', () => {
    const h = cleanHistory().ok(2, k4, 4, 2);
    expect(failing(input(h, CLEAN_LOG))).toContain('unique-numbers');
  });

  it('an order number twice in a replica log: fails "unique-numbers" only', () => {
    const log = [row(1, k1), row(2, k3), row(2, k4, 2)];
    // k4's outcome stayed unknown (a 503 while two replicas were down: acceptable in aggressive mode)
    const h = new HistoryBuilder().ok(1, k1, 1).ok(2, k3, 2).unknown(1, k4, 503, 'could not be made durable in time');
    const i = input(h, log, { nemesis: 'aggressive' });
    expect(failing(i)).toEqual(['unique-numbers']);
    expect(result(i, 'unique-numbers').counts).toMatchObject({ 'duplicate rows': 3 });
  });

  it('one key logged twice (a trade applied twice): fails "unique-keys" only', () => {
    const log = [...CLEAN_LOG, row(4, k3, 2)];
    const i = input(cleanHistory(), log);
    expect(failing(i)).toEqual(['unique-keys']);
    expect(result(i, 'unique-keys').counts).toMatchObject({ duplicated: 3 });
    expect(result(i, 'unique-keys').violations[0]).toMatch(/key k3 is logged 2 times, as orders 2, 4/);
  });

  it('a hole in the numbering: fails "no-gaps" only', () => {
    const log = [row(1, k1), row(2, k3), row(4, k4, 2)];
    const h = new HistoryBuilder().read(1, 'Stock1', 0).ok(1, k1, 1).ok(2, k3, 2).ok(2, k4, 4).read(1, 'Stock1', 6);
    const i = input(h, log);
    expect(failing(i)).toEqual(['no-gaps']);
    expect(result(i, 'no-gaps').counts).toMatchObject({ N: 4, orders: 3, 'missing numbers': 1 });
  });

  it('a replica that lags: fails "identical-logs" only', () => {
    const i = input(cleanHistory(), CLEAN_LOG, { logs: { 'order-1': CLEAN_LOG.slice(0, 2), 'order-2': CLEAN_LOG, 'order-3': CLEAN_LOG } });
    expect(failing(i)).toEqual(['identical-logs']);
    expect(result(i, 'identical-logs').violations).toEqual([expect.stringMatching(/^order-1 \(2 rows\) differs from order-2 \(3 rows\) at row 3/)]);
  });

  it('a replica whose row differs (another epoch): fails "identical-logs" only', () => {
    const other = [row(1, k1), row(2, k3), row(3, k4, 3)];
    const i = input(cleanHistory(), CLEAN_LOG, { logs: { 'order-1': CLEAN_LOG, 'order-2': CLEAN_LOG, 'order-3': other } });
    expect(failing(i)).toEqual(['identical-logs']);
  });

  it('identical order numbers and keys but another epoch on every row of one replica: fails "identical-logs" only', () => {
    const other = CLEAN_LOG.map((r) => ({ ...r, epoch: r.epoch! + 1 }));
    const i = input(cleanHistory(), CLEAN_LOG, { logs: { 'order-1': CLEAN_LOG, 'order-2': other, 'order-3': CLEAN_LOG } });
    expect(failing(i)).toEqual(['identical-logs']);
    expect(result(i, 'identical-logs').violations).toEqual([expect.stringMatching(/^order-2 \(3 rows\) differs from order-1 \(3 rows\) at row 1: #1 k1 buy 5 Stock1 \(epoch 2\) vs #1 k1 buy 5 Stock1 \(epoch 1\)/)]);
  });

  it('logs without epochs on every replica: fails "epochs-recorded" only (identical-logs alone could not see it)', () => {
    const bare = CLEAN_LOG.map(({ epoch: _epoch, ...r }) => r);
    const i = input(cleanHistory(), bare);
    expect(failing(i)).toEqual(['epochs-recorded']);
    expect(result(i, 'epochs-recorded').counts).toMatchObject({ entries: 9, 'without epoch': 9 });
  });

  it('an epoch that is not a positive whole number: fails "epochs-recorded" only', () => {
    const log = [row(1, k1, 0), row(2, k3), row(3, k4, 2)];
    const i = input(cleanHistory(), log);
    expect(failing(i)).toEqual(['epochs-recorded']);
    expect(result(i, 'epochs-recorded').violations[0]).toBe('order-1: #1 k1 buy 5 Stock1 (epoch 0) has epoch 0');
  });

  it('an epoch going back along the log (a deposed leader\'s entry after its successor\'s), the same on every replica: fails "epochs-monotonic" only', () => {
    const log = [row(1, k1, 2), row(2, k3, 1), row(3, k4, 2)];
    const i = input(cleanHistory(), log);
    expect(failing(i)).toEqual(['epochs-monotonic']);
    expect(result(i, 'epochs-monotonic').counts).toMatchObject({ replicas: 3, decreases: 3 });
    expect(result(i, 'epochs-monotonic').violations[0]).toBe('order-1: #2 k3 BUY 3 Stock2 (epoch 1) follows #1 k1 buy 5 Stock1 (epoch 2)');
  });

  it('an epoch going back on one replica only: fails "epochs-monotonic" and "identical-logs"', () => {
    const bad = [row(1, k1, 2), row(2, k3, 1), row(3, k4, 2)];
    const i = input(cleanHistory(), CLEAN_LOG, { logs: { 'order-1': CLEAN_LOG, 'order-2': CLEAN_LOG, 'order-3': bad } });
    expect(failing(i)).toEqual(['identical-logs', 'epochs-monotonic']);
    expect(result(i, 'epochs-monotonic').violations).toEqual([expect.stringMatching(/^order-3: #2 /)]);
  });

  it('a replica whose log cannot be read: fails "identical-logs" only', () => {
    const i = input(cleanHistory(), CLEAN_LOG, { logs: { 'order-1': CLEAN_LOG, 'order-2': null, 'order-3': CLEAN_LOG } });
    expect(failing(i)).toEqual(['identical-logs']);
  });

  it('the catalog out of step with the log: fails "catalog" only', () => {
    const catalog = catalogFor(CLEAN_LOG).map((s) => (s.name === 'Stock1' ? { ...s, quantity: s.quantity + 1 } : s));
    const i = input(cleanHistory(), CLEAN_LOG, { catalog });
    expect(failing(i)).toEqual(['catalog']);
    expect(result(i, 'catalog').violations).toEqual(['Stock1: catalog quantity 95, trade_volume 6; the log implies 94, 6']);
  });

  it('a trade volume that is not the log\'s: fails "catalog" only', () => {
    const catalog = catalogFor(CLEAN_LOG).map((s) => (s.name === 'Stock2' ? { ...s, trade_volume: 6 } : s));
    expect(failing(input(cleanHistory(), CLEAN_LOG, { catalog }))).toEqual(['catalog']);
  });

  it('a session reading an older trade_volume after a newer one: fails "monotonic-reads" only', () => {
    // session 2 sees k5 applied (its outcome unknown to the client, so it raises no bound), then Stock3 from before it
    const h = cleanHistory().unknown(1, k5, 503, 'could not be made durable in time').read(2, 'Stock3', 4).read(2, 'Stock3', 0);
    const i = input(h, [...CLEAN_LOG, row(4, k5, 2)], { nemesis: 'aggressive' });
    expect(failing(i)).toEqual(['monotonic-reads']);
    expect(result(i, 'monotonic-reads').violations[0]).toMatch(/session 2 read Stock3 trade_volume 0 .* after 4/);
  });

  it('a session reading a volume from before a trade it saw acknowledged: fails "monotonic-reads" and "acked-visible"', () => {
    const i = input(cleanHistory().read(2, 'Stock1', 5), CLEAN_LOG);
    expect(failing(i)).toEqual(['monotonic-reads', 'acked-visible']);
    expect(result(i, 'monotonic-reads').violations[0]).toMatch(/session 2 read Stock1 trade_volume 5 .* after 6/);
  });

  it('different sessions may see different versions: not a violation', () => {
    // session 3 reads Stock1 while k4 is in flight and sees 5, after session 2 saw 6
    const h = cleanHistory();
    const k4op = tradeOp(h, 'k4');
    const last = h.ops[h.ops.length - 1];
    h.ops.push({ type: 'op', kind: 'read', id: 99, session: 3, stock_name: 'Stock1', trade_volume: 5, quantity: 95, outcome: 'ok', status: 200, invoke: k4op.invoke + 1, complete: last.complete + 10 });
    const i = input(h, CLEAN_LOG);
    expect(failing(i)).toEqual([]);
  });

  it('a read that starts after a trade of its stock was acknowledged and does not show it: fails "acked-visible" only', () => {
    // session 3 never read Stock1 before (so its reads are monotonic); k1 and k4 (5 + 1) were acknowledged before
    const i = input(cleanHistory().read(3, 'Stock1', 5), CLEAN_LOG);
    expect(failing(i)).toEqual(['acked-visible']);
    expect(result(i, 'acked-visible').counts).toEqual({ reads: 6, stale: 1, 'raised by the log': 0 });
    expect(result(i, 'acked-visible').violations).toEqual([
      expect.stringMatching(/^session 3 read Stock1 trade_volume 5 \(op \d+ at \d+ ms\); trades acknowledged before it add up to 6: k4 \(at \d+ ms\), k1 \(at \d+ ms\)$/),
    ]);
  });

  it('a read that misses a trade logged before an acknowledged one, itself never acknowledged: fails "acked-visible" only', () => {
    // kU's outcome stayed unknown (a 503 that may have gone through, which the aggressive nemesis
    // allows) though its order is logged at 1, before k1's at 2: once k1 is acknowledged the catalog
    // has applied both, so Stock1's volume is 10, not 5. The sum of the acknowledged trades alone
    // (5) cannot tell this read from a good one.
    const kU: Trade = { key: 'kU', stock_name: 'Stock1', trade_type: 'buy', quantity: 5 };
    const lost = 'the catalog may have gone through';
    const h = new HistoryBuilder().unknown(1, kU, 503, lost).ok(2, k1, 2).read(3, 'Stock1', 5);
    const log = [row(1, kU), row(2, k1)];
    const i = input(h, log, { nemesis: 'aggressive' });
    expect(failing(i)).toEqual(['acked-visible']);
    expect(result(i, 'acked-visible').counts).toEqual({ reads: 1, stale: 1, 'raised by the log': 1 });
    expect(result(i, 'acked-visible').violations).toEqual([
      expect.stringMatching(
        /^session 3 read Stock1 trade_volume 5 \(op \d+ at \d+ ms\); k1 \(at \d+ ms\) was acknowledged once the orders of Stock1 up to it in the log, which add up to 10, were applied$/,
      ),
    ]);
    // The same read showing both passes; so does one that overlaps k1's acknowledgement.
    expect(failing(input(new HistoryBuilder().unknown(1, kU, 503, lost).ok(2, k1, 2).read(3, 'Stock1', 10), log, { nemesis: 'aggressive' }))).toEqual([]);
  });

  it('counts a key logged twice once: the catalog applied it once', () => {
    const h = new HistoryBuilder().ok(2, k1, 1).ok(2, k4, 3).read(3, 'Stock1', 6);
    const i = input(h, [row(1, k1), row(2, k1), row(3, k4)]);
    expect(failing(i)).not.toContain('acked-visible');
    expect(failing(i)).toContain('unique-keys');
  });

  it("counts a logged order with its client's quantity, and a row no client sent for nothing", () => {
    const phantom: Trade = { key: 'nobody', stock_name: 'Stock1', trade_type: 'buy', quantity: 7 };
    const h = new HistoryBuilder().ok(2, k1, 2).read(3, 'Stock1', 5);
    const i = input(h, [row(1, phantom), row(2, k1)]);
    expect(failing(i)).not.toContain('acked-visible');
  });

  it('names at most three of the trades acknowledged before a stale read', () => {
    const t = (key: string): Trade => ({ key, stock_name: 'Stock3', trade_type: 'buy', quantity: 1 });
    const h = new HistoryBuilder().ok(1, t('a'), 1).ok(1, t('b'), 2).ok(1, t('c'), 3).ok(1, t('d'), 4).ok(1, t('e'), 5).read(2, 'Stock3', 0);
    const log = ['a', 'b', 'c', 'd', 'e'].map((key, n) => row(n + 1, t(key)));
    const i = input(h, log);
    expect(failing(i)).toEqual(['acked-visible']);
    expect(result(i, 'acked-visible').violations[0]).toMatch(/add up to 5: e \(at \d+ ms\), d \(at \d+ ms\), c \(at \d+ ms\) and 2 more$/);
  });

  it('a read that overlaps a trade\'s acknowledgement may show the stock from before it; one invoked after it may not', () => {
    const stale = (invoke: (ack: TradeOp) => number) => {
      const h = cleanHistory();
      const k4op = tradeOp(h, 'k4');
      const last = h.ops[h.ops.length - 1];
      h.ops.push({ type: 'op', kind: 'read', id: 99, session: 3, stock_name: 'Stock1', trade_volume: 5, quantity: 95, outcome: 'ok', status: 200, invoke: invoke(k4op), complete: last.complete + 10 });
      return input(h, CLEAN_LOG);
    };
    expect(failing(stale((ack) => ack.complete - 1))).toEqual([]);
    expect(failing(stale((ack) => ack.complete))).toEqual([]);
    expect(failing(stale((ack) => ack.complete + 1))).toEqual(['acked-visible']);
  });

  it('an unknown-outcome or a refused trade does not raise the bound', () => {
    // k5 (Stock3): a 503 of unknown outcome (acceptable with two replicas down), never logged; the read after it shows 0
    const unknown = cleanHistory().unknown(1, k5, 503, 'could not be made durable in time').read(2, 'Stock3', 0);
    const i = input(unknown, CLEAN_LOG, { nemesis: 'aggressive' });
    expect(failing(i)).toEqual([]);
    expect(result(i, 'acked-visible').counts).toEqual({ reads: 6, stale: 0, 'raised by the log': 0 });
    // k5 refused by the catalog
    const refused = cleanHistory().refused(1, k5).read(2, 'Stock3', 0);
    expect(failing(input(refused, CLEAN_LOG))).toEqual([]);
  });

  it('a key acknowledged only on its second attempt counts from that attempt\'s completion', () => {
    const log = [...CLEAN_LOG, row(4, k5, 2)];
    const retried = (h: HistoryBuilder) => h.unknown(2, k5, 503, 'could not be made durable in time');
    // a read after the first (unknown) attempt, before the second was acknowledged, may show 0
    const before = retried(cleanHistory()).read(1, 'Stock3', 0).ok(2, k5, 4, 2).read(3, 'Stock3', 4);
    expect(failing(input(before, log, { nemesis: 'aggressive' }))).toEqual([]);
    // one after the second attempt was acknowledged may not
    const after = retried(cleanHistory()).ok(2, k5, 4, 2).read(3, 'Stock3', 0);
    const i = input(after, log, { nemesis: 'aggressive' });
    expect(failing(i)).toEqual(['acked-visible']);
    expect(result(i, 'acked-visible').violations[0]).toMatch(/session 3 read Stock3 trade_volume 0 .* add up to 4: k5 \(at (\d+) ms\)$/);
    const ack = tradeOp(after, 'k5', 2);
    expect(result(i, 'acked-visible').violations[0]).toContain(`k5 (at ${ack.complete} ms)`);
  });

  it('a key acknowledged twice counts once', () => {
    // k4 retried and answered again with its order number: Stock1 is still 5 + 1
    const i = input(cleanHistory().ok(2, k4, 3, 2).read(1, 'Stock1', 6), CLEAN_LOG);
    expect(failing(i)).toEqual([]);
  });

  it('a client-visible failure in the default nemesis: fails "client-failures" only', () => {
    const h = new HistoryBuilder()
      .read(1, 'Stock1', 0)
      .ok(1, k1, 1)
      .unknown(2, k3, 503, 'the trade could not be made durable in time')
      .ok(2, k3, 2, 2)
      .ok(2, k4, 3)
      .refused(1, k2);
    const i = input(h, CLEAN_LOG);
    expect(failing(i)).toEqual(['client-failures']);
    expect(result(i, 'client-failures').counts).toMatchObject({ failures: 1, 'status 503': 1 });
    // With two replicas down a 503 is what the spec asks for …
    expect(failing({ ...i, nemesis: 'aggressive' })).toEqual([]);
  });

  it('a failed read or a request that got no answer fails "client-failures" in either mode', () => {
    const h = cleanHistory().unknown(1, k5, 0, 'The operation was aborted due to timeout');
    const i = input(h, CLEAN_LOG, { nemesis: 'aggressive' });
    expect(failing(i)).toEqual(['client-failures']);
    const read = cleanHistory();
    read.ops.push({ type: 'op', kind: 'read', id: 99, session: 1, stock_name: 'Stock3', invoke: 500, complete: 510, outcome: 'fail', status: 500, error: 'Internal server error' });
    expect(failing(input(read, CLEAN_LOG, { nemesis: 'aggressive' }))).toEqual(['client-failures']);
  });

  it('a refused trade that was applied anyway: fails "refused-not-applied" only', () => {
    const log = [...CLEAN_LOG, row(4, k2, 2)];
    const i = input(cleanHistory(), log);
    expect(failing(i)).toEqual(['refused-not-applied']);
  });

  it('a key both refused and acknowledged: fails "refused-not-applied"', () => {
    const h = cleanHistory().ok(1, k5, 4).refused(1, k5, 2);
    const log = [...CLEAN_LOG, row(4, k5, 2)];
    expect(failing(input(h, log))).toContain('refused-not-applied');
  });

  it('an order in the log that no client asked for: fails "no-phantoms" only', () => {
    const log = [...CLEAN_LOG, row(4, { key: 'nobody', stock_name: 'Stock3', trade_type: 'buy', quantity: 7 }, 2)];
    const i = input(cleanHistory(), log);
    expect(failing(i)).toEqual(['no-phantoms']);
  });

  it('the front end serving an order other than the log\'s: fails "readback" only', () => {
    const i = input(cleanHistory(), CLEAN_LOG);
    const rb = i.ops.find((o): o is ReadbackOp => o.kind === 'readback' && o.order_no === 2)!;
    rb.data = { ...rb.data!, quantity: 30 };
    expect(failing(i)).toEqual(['readback']);
  });

  it('an acknowledged order that was never looked up: fails "readback" only', () => {
    const i = input(cleanHistory(), CLEAN_LOG);
    i.ops = i.ops.filter((o) => !(o.kind === 'readback' && o.order_no === 3));
    expect(failing(i)).toEqual(['readback']);
  });

  it('partition windows run from each partition to the cluster settling after its heal', () => {
    const ev = (t: number, kind: string): FaultEvent => ({ type: 'nemesis', t, kind, target: 'order-3' });
    const faults = [ev(100, 'partition'), ev(900, 'heal-partition'), ev(1200, 'partition-over'), ev(2000, 'kill'), ev(3000, 'partition'), ev(3500, 'heal-partition')];
    expect(partitionWindows(faults)).toEqual([
      { from: 100, to: 1200 },
      { from: 3000, to: Infinity },
    ]);
  });

  it('a 503 or an unanswered request during a partition is counted, not failed; after it settled, or another status, it fails', () => {
    const during = cleanHistory().unknown(1, k5, 503, 'no leader reachable');
    const t = during.ops[during.ops.length - 1];
    const windows = [{ from: t.invoke - 1, to: t.complete + 1 }];
    const i = { ...input(during, [...CLEAN_LOG, row(4, k5, 2)]), partitions: windows };
    expect(failing(i)).toEqual([]);
    expect(result(i, 'client-failures').counts).toMatchObject({ failures: 1, partitions: 1, '503/no answer during a partition': 1 });

    const after = { ...i, partitions: [{ from: 0, to: t.invoke - 1 }] };
    expect(failing(after)).toEqual(['client-failures']);

    const status500 = cleanHistory().unknown(1, k5, 500, 'Internal server error');
    const u = status500.ops[status500.ops.length - 1];
    const i500 = { ...input(status500, [...CLEAN_LOG, row(4, k5, 2)]), partitions: [{ from: u.invoke, to: u.complete }] };
    expect(failing(i500)).toEqual(['client-failures']);
  });

  it('partition windows carry the scope of their partition event; those without one excuse as before', () => {
    const ev = (t: number, kind: string, scope?: FaultEvent['scope']): FaultEvent => ({ type: 'nemesis', t, kind, target: 'frontend-2', ...(scope ? { scope } : {}) });
    const faults = [ev(100, 'partition', { frontend: 'frontend-2', kinds: ['read'] }), ev(900, 'heal-partition'), ev(1200, 'partition-over'), ev(3000, 'partition'), ev(3500, 'partition-over'), ev(4000, 'partition', { frontend: 'frontend' })];
    expect(partitionWindows(faults)).toEqual([
      { from: 100, to: 1200, frontend: 'frontend-2', kinds: ['read'] },
      { from: 3000, to: 3500 },
      { from: 4000, to: Infinity, frontend: 'frontend' },
    ]);
  });

  it('a front end cut off from the catalog excuses the failed lookups through it only: not through the other front end, not its trades', () => {
    const log = [...CLEAN_LOG, row(4, k5, 2)];
    /** The clean history with one failed request at its end; `windowOf` makes the partition span around it. */
    const failure = (add: (h: HistoryBuilder) => HistoryBuilder, frontend?: string) => {
      const h = add(cleanHistory());
      if (frontend) h.on(frontend);
      const f = h.ops[h.ops.length - 1];
      const around = { from: f.invoke - 1, to: f.complete + 1 };
      if (h.ops.every((o) => o.kind !== 'trade' || o.key !== k5.key)) h.ok(1, k5, 4); // k5 in the log is acknowledged, in every variant
      return { h, around };
    };
    const cut = (around: { from: number; to: number }) => [{ ...around, frontend: 'frontend-2', kinds: ['read' as const] }];
    const lookup503 = (h: HistoryBuilder) => h.failedRead(2, 'Stock3', 503, 'catalog unreachable: connect ECONNREFUSED');
    const lookupNoAnswer = (h: HistoryBuilder) => h.failedRead(2, 'Stock3', 0, 'timeout after 10000 ms');

    // Through the cut front end, a 503 or no answer at all: counted, not failed.
    for (const add of [lookup503, lookupNoAnswer]) {
      const { h, around } = failure(add, 'frontend-2');
      const i = { ...input(h, log), partitions: cut(around) };
      expect(failing(i)).toEqual([]);
      expect(result(i, 'client-failures').counts).toMatchObject({ failures: 1, '503/no answer during a partition': 1 });
    }

    // The same lookup through the OTHER front end, which still reaches the catalog: not excused.
    const other = failure(lookup503, 'frontend');
    const iOther = { ...input(other.h, log), partitions: cut(other.around) };
    expect(failing(iOther)).toEqual(['client-failures']);
    expect(result(iOther, 'client-failures').counts).toMatchObject({ failures: 1, '503/no answer during a partition': 0 });
    expect(result(iOther, 'client-failures').violations[0]).toMatch(/^session 2 read Stock3 at [\d.]+ ms: fail, status 503 from frontend \(catalog unreachable/);

    // A lookup whose front end was not recorded: it cannot be shown to be the cut one's.
    const unknownFe = failure(lookup503);
    expect(failing({ ...input(unknownFe.h, log), partitions: cut(unknownFe.around) })).toEqual(['client-failures']);

    // A trade through the cut front end goes to the order leader, not the catalog: its 503 or no answer is not excused.
    for (const [status, error] of [
      [503, 'the trade could not be made durable in time'],
      [0, 'timeout after 25000 ms'],
    ] as const) {
      const trade = failure((h) => h.unknown(1, k5, status, error), 'frontend-2');
      trade.h.ok(1, k5, 4, 2).on('frontend-2');
      const iTrade = { ...input(trade.h, log), partitions: cut(trade.around) };
      expect(failing(iTrade)).toEqual(['client-failures']);
      expect(result(iTrade, 'client-failures').violations[0]).toMatch(/k5 attempt 1 at [\d.]+ ms: unknown, .* from frontend-2/);
      // The same failure under a partition without a scope (replicas cut off) is excused, as before.
      expect(failing({ ...iTrade, partitions: [trade.around] })).toEqual([]);
    }

    // A lookup through the cut front end after the cluster settled: not excused either.
    const late = failure(lookup503, 'frontend-2');
    expect(failing({ ...input(late.h, log), partitions: cut({ from: 0, to: late.around.from }) })).toEqual(['client-failures']);
    // Nor another status than 503 or none.
    const s500 = failure((h) => h.failedRead(2, 'Stock3', 500, 'Internal server error'), 'frontend-2');
    expect(failing({ ...input(s500.h, log), partitions: cut(s500.around) })).toEqual(['client-failures']);
  });

  it('front end outages run from each kill of a front end to its next ready; one never ready lasts to the end', () => {
    const ev = (t: number, kind: string, target: string): FaultEvent => ({ type: 'nemesis', t, kind, target });
    const faults = [
      ev(700, 'kill', 'frontend-2'),
      ev(50, 'ready', 'frontend'),
      ev(100, 'kill', 'frontend-2'),
      ev(150, 'kill', 'order-1'),
      ev(300, 'ready', 'order-1'),
      ev(400, 'ready', 'frontend-2'),
      ev(500, 'kill', 'frontend'),
      ev(600, 'pause', 'frontend-2'),
      ev(800, 'restart', 'frontend-2'),
      ev(900, 'ready', 'frontend-2'),
      ev(950, 'kill', 'order-2'),
      ev(960, 'error', 'nemesis'),
    ];
    expect(frontendOutages(faults)).toEqual({
      'frontend-2': [
        { from: 100, to: 400 },
        { from: 700, to: 900 },
      ],
      frontend: [{ from: 500, to: Infinity }],
    });
    expect(frontendOutages([ev(100, 'kill', 'order-3'), ev(200, 'partition', 'order-3')])).toEqual({});
  });

  it('no answer from a front end during its outage is counted, not failed; from another front end, a 503, a timeout, or after it was ready, it fails', () => {
    const log = [...CLEAN_LOG, row(4, k5, 2)];
    const noAnswer = (frontend?: string, status = 0, error = status === 0 ? 'fetch failed' : 'Service Unavailable') => {
      const h = cleanHistory().unknown(1, k5, status, error);
      if (frontend) h.on(frontend);
      return h;
    };
    const t = noAnswer().ops.at(-1)!;
    const during = { 'frontend-2': [{ from: t.invoke - 1, to: t.complete + 1 }] };

    const i = { ...input(noAnswer('frontend-2'), log), frontendOutages: during };
    expect(failing(i)).toEqual([]);
    expect(result(i, 'client-failures').counts).toMatchObject({ failures: 1, 'no response': 1, 'no answer from a killed front end': 1 });

    const other = { ...input(noAnswer('frontend'), log), frontendOutages: during };
    expect(failing(other)).toEqual(['client-failures']);
    expect(result(other, 'client-failures').counts).toMatchObject({ 'no answer from a killed front end': 0 });
    expect(result(other, 'client-failures').violations[0]).toMatch(/k5 attempt 1 at \d+ ms: unknown, no response from frontend \(fetch failed\)$/);

    expect(failing({ ...input(noAnswer('frontend-2', 503), log), frontendOutages: during })).toEqual(['client-failures']);
    expect(failing({ ...input(noAnswer('frontend-2', 0, 'ECONNREFUSED'), log), frontendOutages: during })).toEqual([]);
    // A request left hanging until the client gave up is not what a kill does to it.
    expect(failing({ ...input(noAnswer('frontend-2', 0, 'timeout after 10000 ms'), log), frontendOutages: during })).toEqual(['client-failures']);

    const readyBefore = { 'frontend-2': [{ from: 0, to: t.invoke - 1 }] };
    expect(failing({ ...input(noAnswer('frontend-2'), log), frontendOutages: readyBefore })).toEqual(['client-failures']);

    expect(failing({ ...input(noAnswer(), log), frontendOutages: during })).toEqual(['client-failures']);
  });

  it('unknown outcomes are allowed either way, and are counted', () => {
    const h = cleanHistory().unknown(1, k5, 0, 'timeout');
    const i = input(h, [...CLEAN_LOG, row(4, k5, 2)], { nemesis: 'aggressive' });
    // the unknown attempt is a client-visible failure (no answer) but nothing else is wrong
    expect(failing(i)).toEqual(['client-failures']);
    expect(result(i, 'refused-not-applied').counts).toMatchObject({ 'unknown, logged': 1 });
  });
});
