import { defineCheck, runChecks, type Check, type CheckResult } from './check';
import { acknowledgedByNumber, describeRow, sameData, sameRow, type LogRow, type StockRow, type TradeData } from './rows';

/**
 * Checks of the final state against what the clients were told: every acknowledged order in the
 * log once with the data sent, order numbers 1..N given once each, no key applied twice, identical
 * logs with their epochs, and the catalog equal to the log. The chaos run and the e2e suites use them.
 */

/** A trade acknowledged to a client, with the order number(s) it was acknowledged as (one, unless something is wrong). */
export interface AckedTrade extends TradeData {
  key: string;
  orderNos: number[];
}

export interface LogInput {
  acked: AckedTrade[];
  /** Replica name → its final order log (ordered by order_no), or null when it could not be read. */
  logs: Record<string, LogRow[] | null>;
  catalog: StockRow[];
  /** Every stock's quantity before the run (default 100). */
  initialQuantity?: number;
  /** Shares bought at the catalog directly, not through the order service, per stock. */
  direct?: Record<string, number>;
}

/** A {@link LogInput} with what the checks look up, derived once. */
export interface LogFacts extends LogInput {
  initial: number;
  /** The log the checks read: the longest readable one (ties: the first by name). */
  ref: { name: string; rows: LogRow[] } | null;
  refRows: LogRow[];
  rowsByKey: Map<string, LogRow[]>;
  rowByNo: Map<number, LogRow>;
  /** The logs that could be read, by replica name. */
  readable: [string, LogRow[]][];
}

/** The longest readable log (ties: the first by name). */
export function referenceLog(logs: LogInput['logs']): { name: string; rows: LogRow[] } | null {
  let best: { name: string; rows: LogRow[] } | null = null;
  for (const name of Object.keys(logs).sort()) {
    const rows = logs[name];
    if (rows && (!best || rows.length > best.rows.length)) best = { name, rows };
  }
  return best;
}

export function logFacts<I extends LogInput>(input: I): I & LogFacts {
  const ref = referenceLog(input.logs);
  const refRows = ref?.rows ?? [];
  const rowsByKey = new Map<string, LogRow[]>();
  for (const r of refRows) rowsByKey.set(r.request_id, [...(rowsByKey.get(r.request_id) ?? []), r]);
  const rowByNo = new Map<number, LogRow>();
  for (const r of refRows) if (!rowByNo.has(r.order_no)) rowByNo.set(r.order_no, r);
  const readable = Object.entries(input.logs).filter((e): e is [string, LogRow[]] => e[1] !== null);
  return { ...input, initial: input.initialQuantity ?? 100, ref, refRows, rowsByKey, rowByNo, readable };
}

/** Every acknowledged order is in the final log, with the data the client sent. */
export const ackedPresent = defineCheck<LogFacts, 'acked-present'>('acked-present', 'no acknowledged order lost', ({ acked, ref, rowsByKey }, c) => {
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
});

/**
 * No order number was given to two orders: not to two clients, not twice in a log, and the
 * number a client was told is the number its order has in the log.
 */
export const uniqueNumbers = defineCheck<LogFacts, 'unique-numbers'>('unique-numbers', 'no order number used twice', ({ acked, rowsByKey, rowByNo, readable }, c) => {
  const keysByNo = acknowledgedByNumber(acked.flatMap((k) => k.orderNos.map((n) => [n, k.key] as const)));
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
    if (!rows) continue; // a lost order: "acked-present" reports it
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
});

/** No idempotency key in any log twice: no trade applied twice. */
export const uniqueKeys = defineCheck<LogFacts, 'unique-keys'>('unique-keys', 'no idempotency key used twice', ({ rowsByKey, readable }, c) => {
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
});

/** The log is numbered 1..N with no hole. */
export const noGaps = defineCheck<LogFacts, 'no-gaps'>('no-gaps', 'order numbers 1..N without gaps', ({ ref, refRows }, c) => {
  const nos = new Set(refRows.map((r) => r.order_no));
  const max = refRows.reduce((m, r) => Math.max(m, r.order_no), 0);
  c.set('N', max);
  c.set('orders', nos.size);
  c.set('missing numbers', 0);
  for (const n of nos) if (!Number.isInteger(n) || n < 1) c.violation(`invalid order number ${n}`);
  for (let n = 1; n <= max; n++) {
    if (!nos.has(n)) {
      c.count('missing numbers');
      c.violation(`${ref?.name}: order number ${n} is missing (N = ${max})`);
    }
  }
});

/** Every replica holds the same log. */
export const identicalLogs = defineCheck<LogFacts, 'identical-logs'>('identical-logs', 'identical logs, epochs included', ({ logs, ref, refRows }, c) => {
  const names = Object.keys(logs).sort();
  c.set('replicas', names.length);
  c.set('rows', refRows.length);
  c.set('identical', 0);
  c.set('differing', 0);
  for (const name of names) {
    const rows = logs[name];
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
        `${name} (${rows.length} rows) differs from ${ref?.name} (${refRows.length} rows) at row ${at + 1}: ` +
          `${rows[at] ? describeRow(rows[at]) : 'nothing'} vs ${refRows[at] ? describeRow(refRows[at]) : 'nothing'}`,
      );
    }
  }
});

/**
 * Every entry of every replica's log carries its epoch (a positive whole number): without it
 * "identical logs" could not tell an old leader's entry from a new leader's.
 */
export const epochsRecorded = defineCheck<LogFacts, 'epochs-recorded'>('epochs-recorded', 'every log entry carries its epoch', ({ readable }, c) => {
  c.set('entries', 0);
  c.set('without epoch', 0);
  for (const [name, rows] of readable) {
    for (const r of rows) {
      c.count('entries');
      if (r.epoch === undefined || !Number.isInteger(r.epoch) || r.epoch < 1) {
        c.count('without epoch');
        c.violation(`${name}: ${describeRow(r)} has epoch ${JSON.stringify(r.epoch ?? null)}`);
      }
    }
  }
});

/**
 * Along every replica's log the epoch never goes back: no entry of a deposed leader after one of
 * its successor's (Raft's log matching keeps a log's terms in order).
 */
export const epochsMonotonic = defineCheck<LogFacts, 'epochs-monotonic'>('epochs-monotonic', 'epochs never decrease along a log', ({ readable }, c) => {
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
});

/**
 * The catalog moved exactly as the log says: quantity = initial − bought + sold, trade_volume =
 * bought + sold, with the shares bought at the catalog directly counted as bought.
 */
export const catalogMatchesLog = defineCheck<LogFacts, 'catalog'>('catalog', 'catalog matches the log', ({ catalog, refRows, initial, direct }, c) => {
  const implied = new Map<string, { bought: number; sold: number }>();
  for (const s of catalog) implied.set(s.name, { bought: 0, sold: 0 });
  for (const [name, shares] of Object.entries(direct ?? {})) implied.set(name, { bought: shares, sold: 0 });
  for (const r of refRows) {
    const t = implied.get(r.stock_name) ?? { bought: 0, sold: 0 };
    if (r.trade_type.toLowerCase() === 'buy') t.bought += r.quantity;
    else t.sold += r.quantity;
    implied.set(r.stock_name, t);
  }
  c.set('stocks', implied.size);
  c.set('mismatched', 0);
  const byName = new Map(catalog.map((s) => [s.name, s]));
  for (const [name, t] of [...implied].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    const s = byName.get(name);
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
});

/** Every acknowledged order is in the log exactly once, with its number and fields; numbers 1..N, no key twice. */
export const ACKED_LOG_CHECKS = [ackedPresent, uniqueNumbers, uniqueKeys, noGaps] as const;

/** Runs `checks` over a final state. */
export function checkLog<Id extends string>(checks: readonly Check<LogFacts, Id>[], input: LogInput): CheckResult<Id>[] {
  return runChecks(checks, logFacts(input));
}
