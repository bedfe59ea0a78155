import type { ClientOp, FaultEvent, ReadbackOp, ReadOp, TradeOp } from './history';

/**
 * The history checker: a pure function from what the clients saw (the history) and the final
 * state (every replica's order log, the catalog) to a verdict per guarantee: nothing acknowledged lost,
 * doubled or changed, numbers 1..N without gaps, identical logs (epochs included), every entry with
 * its epoch and epochs never going back along a log, catalog equal to the log.
 *
 * The checks are written to be independent: a history that breaks one property (and is otherwise
 * consistent) fails that check alone, which `checker.spec.ts` proves for each of them.
 */

export type NemesisMode = 'default' | 'aggressive';

export interface LogRow {
  order_no: number;
  epoch?: number;
  request_id: string;
  stock_name: string;
  trade_type: string;
  quantity: number;
}

export interface StockRow {
  name: string;
  quantity: number;
  trade_volume: number;
}

export interface CheckInput {
  nemesis: NemesisMode;
  ops: ClientOp[];
  /** Replica name → its final order log (ordered by order_no), or null when it could not be read. */
  logs: Record<string, LogRow[] | null>;
  catalog: StockRow[];
  /** Every stock's quantity before the run (100 shares each at start). */
  initialQuantity?: number;
  /** Spans of the run (ms, the history's clock) from a partition's start until the cluster settled after its heal. */
  partitions?: TimeWindow[];
}

export interface TimeWindow {
  from: number;
  to: number;
}

export type CheckId =
  | 'acked-present'
  | 'unique-numbers'
  | 'unique-keys'
  | 'no-gaps'
  | 'identical-logs'
  | 'epochs-recorded'
  | 'epochs-monotonic'
  | 'catalog'
  | 'monotonic-reads'
  | 'client-failures'
  | 'refused-not-applied'
  | 'no-phantoms'
  | 'readback';

export interface CheckResult {
  id: CheckId;
  title: string;
  verdict: 'pass' | 'fail';
  /** What was checked and what was found, e.g. { acknowledged: 812, missing: 0 }. */
  counts: Record<string, number>;
  /** The first violations, in words (at most {@link MAX_VIOLATIONS}). */
  violations: string[];
  /** How many violations there were in all. */
  violationCount: number;
}

export interface CheckReport {
  ok: boolean;
  reference: string | null;
  checks: CheckResult[];
}

export const MAX_VIOLATIONS = 20;

export const CHECK_TITLES: Record<CheckId, string> = {
  'acked-present': 'no acknowledged order lost',
  'unique-numbers': 'no order number used twice',
  'unique-keys': 'no idempotency key used twice',
  'no-gaps': 'order numbers 1..N without gaps',
  'identical-logs': 'identical logs, epochs included',
  'epochs-recorded': 'every log entry carries its epoch',
  'epochs-monotonic': 'epochs never decrease along a log',
  catalog: 'catalog matches the log',
  'monotonic-reads': 'monotonic reads (per session)',
  'client-failures': 'no client-visible failures',
  'refused-not-applied': 'refused trades never applied',
  'no-phantoms': 'every logged order was requested',
  readback: 'order lookups agree with the log',
};

class Check {
  readonly counts: Record<string, number> = {};
  readonly violations: string[] = [];
  violationCount = 0;
  constructor(readonly id: CheckId) {}

  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  set(name: string, n: number): void {
    this.counts[name] = n;
  }

  violation(text: string): void {
    this.violationCount++;
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(text);
  }

  result(pass = this.violationCount === 0): CheckResult {
    return {
      id: this.id,
      title: CHECK_TITLES[this.id],
      verdict: pass ? 'pass' : 'fail',
      counts: this.counts,
      violations: this.violations,
      violationCount: this.violationCount,
    };
  }
}

/** A trade as the clients asked for it, with every attempt made for its key. */
export interface TradeKey {
  key: string;
  stock_name: string;
  trade_type: string;
  quantity: number;
  attempts: TradeOp[];
  /** ok if any attempt was ok; else fail if any was a definite failure; else unknown. */
  outcome: 'ok' | 'fail' | 'unknown';
  /** Distinct order numbers the key was acknowledged with (one, unless something is wrong). */
  orderNos: number[];
  refused: boolean;
}

export function tradesByKey(ops: ClientOp[]): Map<string, TradeKey> {
  const keys = new Map<string, TradeKey>();
  for (const op of ops) {
    if (op.kind !== 'trade') continue;
    let k = keys.get(op.key);
    if (!k) {
      k = { key: op.key, stock_name: op.stock_name, trade_type: op.trade_type, quantity: op.quantity, attempts: [], outcome: 'unknown', orderNos: [], refused: false };
      keys.set(op.key, k);
    }
    k.attempts.push(op);
    if (op.outcome === 'ok') {
      k.outcome = 'ok';
      if (op.order_no !== undefined && !k.orderNos.includes(op.order_no)) k.orderNos.push(op.order_no);
    } else if (op.outcome === 'fail' && k.outcome !== 'ok') {
      k.outcome = 'fail';
    }
    if (op.outcome === 'fail' && op.reason === 'refused') k.refused = true;
  }
  return keys;
}

const sameData = (a: { stock_name: string; trade_type: string; quantity: number }, b: { stock_name: string; trade_type: string; quantity: number }) =>
  a.stock_name === b.stock_name && a.trade_type === b.trade_type && a.quantity === b.quantity;

const describeRow = (r: LogRow) => `#${r.order_no} ${r.request_id} ${r.trade_type} ${r.quantity} ${r.stock_name}${r.epoch !== undefined ? ` (epoch ${r.epoch})` : ''}`;

const sameRow = (a: LogRow, b: LogRow) =>
  a.order_no === b.order_no && a.request_id === b.request_id && (a.epoch ?? null) === (b.epoch ?? null) && sameData(a, b);

/** The log the other checks read: the longest readable one (ties: the first by name). */
export function referenceLog(logs: CheckInput['logs']): { name: string; rows: LogRow[] } | null {
  let best: { name: string; rows: LogRow[] } | null = null;
  for (const name of Object.keys(logs).sort()) {
    const rows = logs[name];
    if (rows && (!best || rows.length > best.rows.length)) best = { name, rows };
  }
  return best;
}

/**
 * The partition spans of a run, from its nemesis events: each `partition` to the next
 * `partition-over` (the cluster settled after the heal); one never over lasts to the end.
 */
export function partitionWindows(faults: FaultEvent[]): TimeWindow[] {
  const windows: TimeWindow[] = [];
  let open: number | null = null;
  for (const f of [...faults].sort((a, b) => a.t - b.t)) {
    if (f.kind === 'partition' && open === null) open = f.t;
    else if (f.kind === 'partition-over' && open !== null) {
      windows.push({ from: open, to: f.t });
      open = null;
    }
  }
  if (open !== null) windows.push({ from: open, to: Infinity });
  return windows;
}

/** A client-visible failure: anything but a success or a definite refusal by the catalog. */
export function isClientFailure(op: ClientOp): boolean {
  if (op.kind === 'readback') return false;
  if (op.outcome === 'ok') return false;
  return !(op.kind === 'trade' && op.outcome === 'fail' && op.reason === 'refused');
}

export function check(input: CheckInput): CheckReport {
  const initial = input.initialQuantity ?? 100;
  const keys = tradesByKey(input.ops);
  const acked = [...keys.values()].filter((k) => k.outcome === 'ok');
  const ref = referenceLog(input.logs);
  const refRows = ref?.rows ?? [];
  const rowsByKey = new Map<string, LogRow[]>();
  for (const r of refRows) rowsByKey.set(r.request_id, [...(rowsByKey.get(r.request_id) ?? []), r]);
  const rowByNo = new Map<number, LogRow>();
  for (const r of refRows) if (!rowByNo.has(r.order_no)) rowByNo.set(r.order_no, r);
  const readable = Object.entries(input.logs).filter((e): e is [string, LogRow[]] => e[1] !== null);
  const checks: CheckResult[] = [];

  // 1. Every acknowledged order is in the final log, with the data the client sent.
  {
    const c = new Check('acked-present');
    c.set('acknowledged', acked.length);
    c.set('present', 0);
    c.set('missing', 0);
    c.set('mismatched', 0);
    if (!ref) c.violation('no replica log could be read');
    for (const k of acked) {
      const rows = rowsByKey.get(k.key);
      if (!rows) {
        c.count('missing');
        c.violation(`acknowledged ${k.key} (order ${k.orderNos.join('/')}: ${k.trade_type} ${k.quantity} ${k.stock_name}) is not in the log`);
      } else if (!rows.some((r) => sameData(r, k))) {
        c.count('mismatched');
        c.violation(`acknowledged ${k.key} (${k.trade_type} ${k.quantity} ${k.stock_name}) is logged as ${rows.map(describeRow).join(', ')}`);
      } else {
        c.count('present');
      }
    }
    checks.push(c.result());
  }

  // 2. No order number was given to two orders: not to two clients, not twice in a log, and the
  //    number a client was told is the number its order has in the log.
  {
    const c = new Check('unique-numbers');
    const keysByNo = new Map<number, string[]>();
    for (const k of acked) for (const n of k.orderNos) keysByNo.set(n, [...(keysByNo.get(n) ?? []), k.key]);
    c.set('numbers acknowledged', keysByNo.size);
    c.set('given to two orders', 0);
    c.set('key renumbered', 0);
    c.set('ack differs from log', 0);
    c.set('duplicate rows', 0);
    for (const [n, ks] of keysByNo) {
      if (ks.length > 1) {
        c.count('given to two orders');
        c.violation(`order number ${n} was acknowledged to ${ks.length} different keys: ${ks.join(', ')}`);
      }
    }
    for (const k of acked) {
      if (k.orderNos.length > 1) {
        c.count('key renumbered');
        c.violation(`key ${k.key} was acknowledged with different numbers ${k.orderNos.join(', ')}`);
      }
      const rows = rowsByKey.get(k.key);
      if (!rows) continue; // a lost order: check 1's business
      for (const n of k.orderNos) {
        if (!rows.some((r) => r.order_no === n)) {
          c.count('ack differs from log');
          const other = rowByNo.get(n);
          c.violation(`key ${k.key} was acknowledged as order ${n} but is logged as ${rows.map((r) => r.order_no).join('/')}${other ? `; ${n} is ${describeRow(other)}` : ''}`);
        }
      }
    }
    for (const [name, rows] of readable) {
      const seen = new Set<number>();
      for (const r of rows) {
        if (seen.has(r.order_no)) {
          c.count('duplicate rows');
          c.violation(`${name} holds order number ${r.order_no} twice`);
        }
        seen.add(r.order_no);
      }
    }
    checks.push(c.result());
  }

  // 3. No idempotency key in any log twice: no trade applied twice.
  {
    const c = new Check('unique-keys');
    c.set('keys', rowsByKey.size);
    c.set('duplicated', 0);
    for (const [name, rows] of readable) {
      const byKey = new Map<string, number[]>();
      for (const r of rows) byKey.set(r.request_id, [...(byKey.get(r.request_id) ?? []), r.order_no]);
      for (const [key, nos] of byKey) {
        if (nos.length > 1) {
          c.count('duplicated');
          c.violation(`${name}: key ${key} is logged ${nos.length} times, as orders ${nos.join(', ')}`);
        }
      }
    }
    checks.push(c.result());
  }

  // 4. The log is numbered 1..N with no hole.
  {
    const c = new Check('no-gaps');
    const nos = new Set(refRows.map((r) => r.order_no));
    const max = refRows.reduce((m, r) => Math.max(m, r.order_no), 0);
    c.set('N', max);
    c.set('orders', nos.size);
    c.set('missing numbers', 0);
    for (const n of nos) if (!Number.isInteger(n) || n < 1) c.violation(`invalid order number ${n}`);
    for (let n = 1; n <= max; n++) {
      if (!nos.has(n)) {
        c.count('missing numbers');
        c.violation(`${ref!.name}: order number ${n} is missing (N = ${max})`);
      }
    }
    checks.push(c.result());
  }

  // 5. Every replica holds the same log.
  {
    const c = new Check('identical-logs');
    const names = Object.keys(input.logs).sort();
    c.set('replicas', names.length);
    c.set('rows', refRows.length);
    c.set('identical', 0);
    c.set('differing', 0);
    for (const name of names) {
      const rows = input.logs[name];
      if (!rows) {
        c.count('differing');
        c.violation(`${name}: its log could not be read`);
        continue;
      }
      const n = Math.max(rows.length, refRows.length);
      let at = -1;
      for (let i = 0; i < n && at < 0; i++) if (!rows[i] || !refRows[i] || !sameRow(rows[i], refRows[i])) at = i;
      if (at < 0) {
        c.count('identical');
      } else {
        c.count('differing');
        c.violation(
          `${name} (${rows.length} rows) differs from ${ref!.name} (${refRows.length} rows) at row ${at + 1}: ` +
            `${rows[at] ? describeRow(rows[at]) : 'nothing'} vs ${refRows[at] ? describeRow(refRows[at]) : 'nothing'}`,
        );
      }
    }
    checks.push(c.result());
  }

  // 5a. Every entry of every replica's log carries its epoch (a positive whole number): without it
  //     "identical logs" could not tell an old leader's entry from a new leader's.
  {
    const c = new Check('epochs-recorded');
    c.set('entries', 0);
    c.set('without epoch', 0);
    for (const [name, rows] of readable) {
      for (const r of rows) {
        c.count('entries');
        if (!Number.isInteger(r.epoch) || r.epoch! < 1) {
          c.count('without epoch');
          c.violation(`${name}: ${describeRow(r)} has epoch ${JSON.stringify(r.epoch ?? null)}`);
        }
      }
    }
    checks.push(c.result());
  }

  // 5b. Along every replica's log the epoch never goes back: no entry of a deposed leader after
  //     one of its successor's (Raft's log matching keeps a log's terms in order).
  {
    const c = new Check('epochs-monotonic');
    c.set('replicas', readable.length);
    c.set('decreases', 0);
    for (const [name, rows] of readable) {
      c.set(`${name} epochs`, new Set(rows.map((r) => r.epoch)).size);
      for (let i = 1; i < rows.length; i++) {
        const [prev, cur] = [rows[i - 1].epoch, rows[i].epoch];
        if (prev !== undefined && cur !== undefined && cur < prev) {
          c.count('decreases');
          c.violation(`${name}: ${describeRow(rows[i])} follows ${describeRow(rows[i - 1])}`);
        }
      }
    }
    checks.push(c.result());
  }

  // 6. The catalog moved exactly as the log says: quantity = initial − bought + sold, trade_volume = bought + sold.
  {
    const c = new Check('catalog');
    const implied = new Map<string, { bought: number; sold: number }>();
    for (const s of input.catalog) implied.set(s.name, { bought: 0, sold: 0 });
    for (const r of refRows) {
      const t = implied.get(r.stock_name) ?? { bought: 0, sold: 0 };
      if (r.trade_type.toLowerCase() === 'buy') t.bought += r.quantity;
      else t.sold += r.quantity;
      implied.set(r.stock_name, t);
    }
    c.set('stocks', implied.size);
    c.set('mismatched', 0);
    const catalog = new Map(input.catalog.map((s) => [s.name, s]));
    for (const [name, t] of [...implied].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
      const s = catalog.get(name);
      const quantity = initial - t.bought + t.sold;
      const volume = t.bought + t.sold;
      if (!s) {
        c.count('mismatched');
        c.violation(`${name} is in the log but not in the catalog`);
      } else if (s.quantity !== quantity || s.trade_volume !== volume) {
        c.count('mismatched');
        c.violation(`${name}: catalog quantity ${s.quantity}, trade_volume ${s.trade_volume}; the log implies ${quantity}, ${volume}`);
      }
    }
    checks.push(c.result());
  }

  // 7. Monotonic reads: within a session, a stock's trade_volume (its version: it only grows) never goes back.
  {
    const c = new Check('monotonic-reads');
    const reads = input.ops.filter((o): o is ReadOp => o.kind === 'read' && o.outcome === 'ok' && o.trade_volume !== undefined);
    reads.sort((a, b) => a.invoke - b.invoke || a.id - b.id);
    const last = new Map<string, ReadOp>();
    c.set('reads', reads.length);
    c.set('sessions', new Set(reads.map((r) => r.session)).size);
    c.set('regressions', 0);
    for (const r of reads) {
      const k = `${r.session}/${r.stock_name}`;
      const prev = last.get(k);
      if (prev && r.trade_volume! < prev.trade_volume!) {
        c.count('regressions');
        c.violation(
          `session ${r.session} read ${r.stock_name} trade_volume ${r.trade_volume} (op ${r.id} at ${r.invoke} ms) after ${prev.trade_volume} (op ${prev.id} at ${prev.invoke} ms)`,
        );
        continue;
      }
      last.set(k, r);
    }
    checks.push(c.result());
  }

  // 8. Client-visible failures: none in the default nemesis (at most one replica down); with two
  //    down (aggressive) only 503s are acceptable (a trade that cannot be made durable fails fast).
  //    A partition promises safety, not availability (trades resume once a majority of replicas can talk and a front end reaches one): a 503 or an unanswered request
  //    overlapping a partition, up to the cluster settling after its heal, is counted, not failed.
  {
    const c = new Check('client-failures');
    const attempts = input.ops.filter((o) => o.kind !== 'readback');
    const failures = attempts.filter(isClientFailure);
    c.set('requests', attempts.length);
    c.set('failures', failures.length);
    const byStatus = new Map<number, number>();
    for (const f of failures) byStatus.set(f.status, (byStatus.get(f.status) ?? 0) + 1);
    for (const [status, n] of [...byStatus].sort(([a], [b]) => a - b)) c.set(status === 0 ? 'no response' : `status ${status}`, n);
    const windows = input.partitions ?? [];
    if (windows.length > 0) c.set('partitions', windows.length);
    const duringPartition = (f: ClientOp) => (f.status === 503 || f.status === 0) && windows.some((w) => f.invoke <= w.to && f.complete >= w.from);
    let bad = failures;
    if (windows.length > 0) {
      bad = failures.filter((f) => !duringPartition(f));
      c.set('503/no answer during a partition', failures.length - bad.length);
    }
    if (input.nemesis === 'aggressive') bad = bad.filter((f) => f.status !== 503);
    for (const f of bad) {
      c.violation(
        `session ${f.session} ${f.kind} ${f.kind === 'trade' ? `${f.key} attempt ${f.attempt}` : f.stock_name} at ${f.invoke} ms: ` +
          `${f.outcome}, ${f.status === 0 ? 'no response' : `status ${f.status}`}${f.error ? ` (${f.error})` : ''}`,
      );
    }
    checks.push(c.result());
  }

  // 9. A trade the catalog refused (409) never ends up applied, and its key never succeeds.
  {
    const c = new Check('refused-not-applied');
    const refused = [...keys.values()].filter((k) => k.refused);
    c.set('refused', refused.length);
    c.set('applied', 0);
    c.set('also acknowledged', 0);
    for (const k of refused) {
      if (k.outcome === 'ok') {
        c.count('also acknowledged');
        c.violation(`key ${k.key} was both refused and acknowledged (order ${k.orderNos.join('/')})`);
      } else if (rowsByKey.has(k.key)) {
        c.count('applied');
        c.violation(`refused key ${k.key} is in the log as ${rowsByKey.get(k.key)!.map(describeRow).join(', ')}`);
      }
    }
    const insufficient = [...keys.values()].filter((k) => k.outcome === 'fail' && !k.refused);
    c.set('503 failed, later logged', insufficient.filter((k) => rowsByKey.has(k.key)).length);
    const unknown = [...keys.values()].filter((k) => k.outcome === 'unknown');
    c.set('unknown, logged', unknown.filter((k) => rowsByKey.has(k.key)).length);
    c.set('unknown, not logged', unknown.filter((k) => !rowsByKey.has(k.key)).length);
    checks.push(c.result());
  }

  // 10. Every order in the log is one a client asked for, with the data it sent.
  {
    const c = new Check('no-phantoms');
    c.set('rows', refRows.length);
    c.set('never requested', 0);
    c.set('data differs', 0);
    for (const r of refRows) {
      const k = keys.get(r.request_id);
      if (!k) {
        c.count('never requested');
        c.violation(`${describeRow(r)} was never requested by a client`);
      } else if (!sameData(r, k)) {
        c.count('data differs');
        c.violation(`${describeRow(r)} was requested as ${k.trade_type} ${k.quantity} ${k.stock_name}`);
      }
    }
    checks.push(c.result());
  }

  // 11. After the run, looking up every acknowledged order number through the front end gives the
  //     log's order (and a 404 for a number the log does not have).
  {
    const c = new Check('readback');
    const reads = input.ops.filter((o): o is ReadbackOp => o.kind === 'readback');
    const readNos = new Set(reads.map((r) => r.order_no));
    c.set('lookups', reads.length);
    c.set('agree', 0);
    c.set('disagree', 0);
    c.set('not looked up', 0);
    for (const r of reads) {
      const row = rowByNo.get(r.order_no);
      const agrees = row
        ? r.outcome === 'ok' && !!r.data && r.data.order_no === row.order_no && sameData(r.data, row)
        : r.outcome === 'fail' && r.status === 404;
      if (agrees) {
        c.count('agree');
      } else {
        c.count('disagree');
        const got = r.outcome === 'ok' ? JSON.stringify(r.data) : `${r.outcome}, status ${r.status}${r.error ? ` (${r.error})` : ''}`;
        c.violation(`order ${r.order_no}: the front end answered ${got}; the log has ${row ? describeRow(row) : 'no such order'}`);
      }
    }
    for (const k of acked) {
      for (const n of k.orderNos) {
        if (!readNos.has(n)) {
          c.count('not looked up');
          c.violation(`acknowledged order ${n} (${k.key}) was not looked up`);
        }
      }
    }
    checks.push(c.result());
  }

  return { ok: checks.every((c) => c.verdict === 'pass'), reference: ref?.name ?? null, checks };
}

/** Figures for the summary: operations by kind and outcome. */
export interface HistoryStats {
  reads: { total: number; ok: number; fail: number; unknown: number };
  /** Each attempt of POST /orders. */
  tradeAttempts: { total: number; ok: number; fail: number; unknown: number };
  /** Each trade (idempotency key), by its final outcome. */
  trades: { total: number; ok: number; refused: number; failed: number; unknown: number; retried: number };
  readbacks: { total: number; ok: number; fail: number; unknown: number };
  /** Logical operations: reads + trades (keys). */
  operations: { total: number; ok: number; fail: number; unknown: number };
}

export function historyStats(ops: ClientOp[]): HistoryStats {
  const tally = (list: ClientOp[]) => ({
    total: list.length,
    ok: list.filter((o) => o.outcome === 'ok').length,
    fail: list.filter((o) => o.outcome === 'fail').length,
    unknown: list.filter((o) => o.outcome === 'unknown').length,
  });
  const reads = tally(ops.filter((o) => o.kind === 'read'));
  const keys = [...tradesByKey(ops).values()];
  const trades = {
    total: keys.length,
    ok: keys.filter((k) => k.outcome === 'ok').length,
    refused: keys.filter((k) => k.outcome === 'fail' && k.refused).length,
    failed: keys.filter((k) => k.outcome === 'fail' && !k.refused).length,
    unknown: keys.filter((k) => k.outcome === 'unknown').length,
    retried: keys.filter((k) => k.attempts.length > 1).length,
  };
  return {
    reads,
    tradeAttempts: tally(ops.filter((o) => o.kind === 'trade')),
    trades,
    readbacks: tally(ops.filter((o) => o.kind === 'readback')),
    operations: {
      total: reads.total + trades.total,
      ok: reads.ok + trades.ok,
      fail: reads.fail + trades.refused + trades.failed,
      unknown: reads.unknown + trades.unknown,
    },
  };
}
