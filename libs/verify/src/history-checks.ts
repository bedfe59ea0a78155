import { defineCheck, runChecks, type Check, type CheckResult } from './check';
import { excusedByPartition, isClientFailure, tradesByKey, type ClientOp, type PartitionWindow, type ReadbackOp, type ReadOp, type TimeWindow, type TradeKey } from './history';
import { ackedPresent, catalogMatchesLog, epochsMonotonic, epochsRecorded, identicalLogs, logFacts, noGaps, uniqueKeys, uniqueNumbers, type LogFacts, type LogInput } from './log-checks';
import { describeRow, judgeReadBack, sameData, type LogRow, type StockRow } from './rows';

/**
 * The history checker of a chaos run: from what the clients saw (the history) and the final state
 * (every replica's order log, the catalog) to a verdict per guarantee: nothing acknowledged lost,
 * doubled or changed, numbers 1..N without gaps, identical logs (epochs included), every entry with
 * its epoch and epochs never going back along a log, catalog equal to the log, monotonic reads,
 * reads that show every trade acknowledged before them, no client-visible failure the nemesis does
 * not excuse, refusals never applied, no phantom orders, and order lookups that agree with the log.
 *
 * The checks are independent: a history that breaks one property (and is otherwise consistent)
 * fails that check alone, which `history-checks.spec.ts` proves for each of them.
 */

export type NemesisMode = 'default' | 'aggressive';

export interface CheckInput {
  nemesis: NemesisMode;
  ops: ClientOp[];
  /** Replica name → its final order log (ordered by order_no), or null when it could not be read. */
  logs: Record<string, LogRow[] | null>;
  catalog: StockRow[];
  /** Every stock's quantity before the run (100 shares each at start). */
  initialQuantity?: number;
  /**
   * Spans of the run (ms, the history's clock) from a partition's start until the cluster settled
   * after its heal, each with the requests it excuses (see `PartitionScope`; none named: all).
   */
  partitions?: PartitionWindow[];
  /** Front end name → the spans it was down, from its kill until it was ready again (see `frontendOutages`). */
  frontendOutages?: Record<string, TimeWindow[]>;
}

/** A {@link CheckInput} with what the checks look up, derived once. */
export interface HistoryFacts extends LogFacts {
  nemesis: NemesisMode;
  ops: ClientOp[];
  partitions?: PartitionWindow[];
  frontendOutages?: Record<string, TimeWindow[]>;
  /** Every trade of the history, by idempotency key. */
  keys: Map<string, TradeKey>;
}

export interface CheckReport {
  ok: boolean;
  reference: string | null;
  checks: CheckResult<CheckId>[];
}

/** Monotonic reads: within a session, a stock's trade_volume (its version: it only grows) never goes back. */
export const monotonicReads = defineCheck<HistoryFacts, 'monotonic-reads'>('monotonic-reads', 'monotonic reads (per session)', ({ ops }, c) => {
  const reads = ops.filter((o): o is ReadOp & { trade_volume: number } => o.kind === 'read' && o.outcome === 'ok' && o.trade_volume !== undefined);
  reads.sort((a, b) => a.invoke - b.invoke || a.id - b.id);
  const last = new Map<string, ReadOp & { trade_volume: number }>();
  c.set('reads', reads.length);
  c.set('sessions', new Set(reads.map((r) => r.session)).size);
  c.set('regressions', 0);
  for (const r of reads) {
    const k = `${r.session}/${r.stock_name}`;
    const prev = last.get(k);
    if (prev && r.trade_volume < prev.trade_volume) {
      c.count('regressions');
      c.violation(
        `session ${r.session} read ${r.stock_name} trade_volume ${r.trade_volume} (op ${r.id} at ${r.invoke} ms) after ${prev.trade_volume} (op ${prev.id} at ${prev.invoke} ms)`,
      );
      continue;
    }
    last.set(k, r);
  }
});

/**
 * Reads show every trade acknowledged before them, as far as a volume can tell: read-your-writes
 * extended to every client and every front end. Once a trade is acknowledged the catalog has
 * committed it, and every front end holding a cache lease has dropped the stock (or its lease has
 * run out), so no read that starts afterwards, through any front end, may show the stock from
 * before it. A stock's trade_volume starts at 0 and grows by each applied trade's quantity.
 *
 * The bound a read invoked at t must reach, for each trade first acknowledged before t (a key
 * counts once; unknown and failed trades raise none):
 * - the volume the stock had once every order before it in the final log was applied: the
 *   quantities of the stock's orders up to and including its own, in log order (each as its client
 *   sent it; a row no client sent counts for nothing). The leader logs an
 *   order only after the catalog applied it, and logs in order, so by the time it acknowledged
 *   the trade the catalog had applied all of them — acknowledged or not (a trade whose answer was
 *   lost, a retry's first attempt). This makes the bound as tight as the log can make it: a
 *   missing trade cannot hide behind another one committed but never acknowledged.
 * - at least the sum of the quantities of the acknowledged trades themselves, should one of them
 *   be missing from the log (which "acknowledged orders kept" reports on its own).
 * A read that overlaps a trade's acknowledgement may show either side of it. This holds with
 * acknowledgements from a majority (`ORDER_ACK_MODE=majority`, which chaos runs use): with the
 * leader's alone, an acknowledged order can be lost and others logged in its place.
 */
export const readsSeeAcked = defineCheck<HistoryFacts, 'acked-visible'>('acked-visible', 'reads show every trade acknowledged before them', ({ ops, keys, refRows, rowsByKey }, c) => {
  // Each logged order's stock volume once it and every order before it were applied. The log gives
  // the order only: each order counts with the quantity its client sent, and a row no client sent
  // (or logged for another stock) counts for nothing, so that a log changed or made up fails the
  // log's own checks, not this one.
  const through = new Map<number, number>();
  const running = new Map<string, number>();
  const counted = new Set<string>();
  for (const r of refRows) {
    const sent = keys.get(r.request_id);
    // A key logged twice was applied once by the catalog ("no idempotency key used twice" reports the second row).
    if (!sent || sent.stock_name !== r.stock_name || counted.has(r.request_id)) continue;
    counted.add(r.request_id);
    const v = (running.get(r.stock_name) ?? 0) + sent.quantity;
    running.set(r.stock_name, v);
    through.set(r.order_no, v);
  }
  type Acked = { key: string; quantity: number; at: number; logged?: number };
  const ackedByStock = new Map<string, Acked[]>();
  for (const k of keys.values()) {
    if (k.outcome !== 'ok') continue;
    const at = Math.min(...k.attempts.filter((a) => a.outcome === 'ok').map((a) => a.complete));
    const row = rowsByKey.get(k.key)?.find((r) => r.stock_name === k.stock_name);
    let list = ackedByStock.get(k.stock_name);
    if (!list) ackedByStock.set(k.stock_name, (list = []));
    list.push({ key: k.key, quantity: k.quantity, at, logged: row && through.get(row.order_no) });
  }
  const readsByStock = new Map<string, (ReadOp & { trade_volume: number })[]>();
  for (const o of ops) {
    if (o.kind !== 'read' || o.outcome !== 'ok' || o.trade_volume === undefined) continue;
    let list = readsByStock.get(o.stock_name);
    if (!list) readsByStock.set(o.stock_name, (list = []));
    list.push(o as ReadOp & { trade_volume: number });
  }
  c.set('reads', [...readsByStock.values()].reduce((n, l) => n + l.length, 0));
  c.set('stale', 0);
  // Reads whose bound the log raised above the sum of the acknowledged trades.
  c.set('raised by the log', 0);
  for (const [stock, reads] of readsByStock) {
    const acked = (ackedByStock.get(stock) ?? []).sort((a, b) => a.at - b.at);
    reads.sort((a, b) => a.invoke - b.invoke || a.id - b.id);
    let i = 0;
    let sum = 0;
    /** The acknowledged trade whose logged volume is the highest so far. */
    let highest: Acked | undefined;
    for (const r of reads) {
      for (; i < acked.length && acked[i].at < r.invoke; i++) {
        sum += acked[i].quantity;
        if (acked[i].logged !== undefined && acked[i].logged! > (highest?.logged ?? -1)) highest = acked[i];
      }
      const bound = Math.max(sum, highest?.logged ?? 0);
      if (bound > sum) c.count('raised by the log');
      if (r.trade_volume >= bound) continue;
      c.count('stale');
      const why =
        bound > sum
          ? `${highest!.key} (at ${highest!.at} ms) was acknowledged once the orders of ${stock} up to it in the log, which add up to ${bound}, were applied`
          : `trades acknowledged before it add up to ${bound}: ` +
            acked
              .slice(Math.max(0, i - 3), i)
              .reverse()
              .map((a) => `${a.key} (at ${a.at} ms)`)
              .join(', ') +
            (i > 3 ? ` and ${i - 3} more` : '');
      c.violation(`session ${r.session} read ${stock} trade_volume ${r.trade_volume} (op ${r.id} at ${r.invoke} ms); ${why}`);
    }
  }
});

/**
 * Client-visible failures: none in the default nemesis (at most one replica down); with two down
 * (aggressive) only 503s are acceptable (a trade that cannot be made durable fails fast). A
 * partition promises safety, not availability (trades resume once a majority of replicas can talk
 * and a front end reaches one): a 503 or an unanswered request overlapping a partition, up to the
 * cluster settling after its heal, is counted, not failed — within the partition's scope, when it
 * has one: a front end cut off from the catalog excuses the lookups through that front end only
 * (see `excusedByPartition`). A killed front end cannot answer its
 * own clients (they go to another front end; "clients never notice" is about order replicas): a
 * request whose connection to a front end was refused or cut (status 0, not a timeout) during one
 * of its outages, from its kill until it was ready again, is counted, not failed.
 */
export const clientFailures = defineCheck<HistoryFacts, 'client-failures'>('client-failures', 'no client-visible failures', ({ ops, partitions, frontendOutages, nemesis }, c) => {
  const attempts = ops.filter((o) => o.kind !== 'readback');
  const failures = attempts.filter(isClientFailure);
  c.set('requests', attempts.length);
  c.set('failures', failures.length);
  const byStatus = new Map<number, number>();
  for (const f of failures) byStatus.set(f.status, (byStatus.get(f.status) ?? 0) + 1);
  for (const [status, n] of [...byStatus].sort(([a], [b]) => a - b)) c.set(status === 0 ? 'no response' : `status ${status}`, n);
  const windows = partitions ?? [];
  if (windows.length > 0) c.set('partitions', windows.length);
  const duringPartition = (f: ClientOp) => windows.some((w) => excusedByPartition(f, w));
  let bad = failures;
  if (windows.length > 0) {
    bad = failures.filter((f) => !duringPartition(f));
    c.set('503/no answer during a partition', failures.length - bad.length);
  }
  const outages = frontendOutages ?? {};
  if (Object.values(outages).some((ws) => ws.length > 0)) {
    // A connection refused or cut by the kill, not a request left hanging (a timeout).
    const frontendDown = (f: ClientOp) =>
      f.status === 0 &&
      !/timeout/i.test(f.error ?? '') &&
      f.frontend !== undefined &&
      (outages[f.frontend] ?? []).some((w) => f.invoke <= w.to && f.complete >= w.from);
    const before = bad.length;
    bad = bad.filter((f) => !frontendDown(f));
    c.set('no answer from a killed front end', before - bad.length);
  }
  if (nemesis === 'aggressive') bad = bad.filter((f) => f.status !== 503);
  for (const f of bad) {
    c.violation(
      `session ${f.session} ${f.kind} ${f.kind === 'trade' ? `${f.key} attempt ${f.attempt}` : f.stock_name} at ${f.invoke} ms: ` +
        `${f.outcome}, ${f.status === 0 ? 'no response' : `status ${f.status}`}${f.frontend ? ` from ${f.frontend}` : ''}${f.error ? ` (${f.error})` : ''}`,
    );
  }
});

/** A trade the catalog refused (409) never ends up applied, and its key never succeeds. */
export const refusedNotApplied = defineCheck<HistoryFacts, 'refused-not-applied'>('refused-not-applied', 'refused trades never applied', ({ keys, rowsByKey }, c) => {
  const refused = [...keys.values()].filter((k) => k.refused);
  c.set('refused', refused.length);
  c.set('applied', 0);
  c.set('also acknowledged', 0);
  for (const k of refused) {
    const rows = rowsByKey.get(k.key);
    if (k.outcome === 'ok') {
      c.count('also acknowledged');
      c.violation(`key ${k.key} was both refused and acknowledged (order ${k.orderNos.join('/')})`);
    } else if (rows) {
      c.count('applied');
      c.violation(`refused key ${k.key} is in the log as ${rows.map(describeRow).join(', ')}`);
    }
  }
  const insufficient = [...keys.values()].filter((k) => k.outcome === 'fail' && !k.refused);
  c.set('503 failed, later logged', insufficient.filter((k) => rowsByKey.has(k.key)).length);
  const unknown = [...keys.values()].filter((k) => k.outcome === 'unknown');
  c.set('unknown, logged', unknown.filter((k) => rowsByKey.has(k.key)).length);
  c.set('unknown, not logged', unknown.filter((k) => !rowsByKey.has(k.key)).length);
});

/** Every order in the log is one a client asked for, with the data it sent. */
export const noPhantoms = defineCheck<HistoryFacts, 'no-phantoms'>('no-phantoms', 'every logged order was requested', ({ refRows, keys }, c) => {
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
});

/**
 * After the run, looking up every acknowledged order number through the front end gives the log's
 * order (and a 404 for a number the log does not have).
 */
export const readback = defineCheck<HistoryFacts, 'readback'>('readback', 'order lookups agree with the log', ({ ops, rowByNo, acked }, c) => {
  const reads = ops.filter((o): o is ReadbackOp => o.kind === 'readback');
  const readNos = new Set(reads.map((r) => r.order_no));
  c.set('lookups', reads.length);
  c.set('agree', 0);
  c.set('disagree', 0);
  c.set('not looked up', 0);
  for (const r of reads) {
    const row = rowByNo.get(r.order_no);
    const agrees = row
      ? r.outcome === 'ok' && judgeReadBack(row.order_no, row, r.data).verdict === 'match'
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
});

/** The chaos run's checks, in report order. */
export const HISTORY_CHECKS = [
  ackedPresent,
  uniqueNumbers,
  uniqueKeys,
  noGaps,
  identicalLogs,
  epochsRecorded,
  epochsMonotonic,
  catalogMatchesLog,
  monotonicReads,
  readsSeeAcked,
  clientFailures,
  refusedNotApplied,
  noPhantoms,
  readback,
] as const;

export type CheckId = (typeof HISTORY_CHECKS)[number]['id'];

export const CHECK_TITLES = Object.fromEntries(HISTORY_CHECKS.map((c) => [c.id, c.title])) as Record<CheckId, string>;

/** The facts every check reads, derived once from a history and the final state. */
export function historyFacts(input: CheckInput): HistoryFacts {
  const keys = tradesByKey(input.ops);
  const log: LogInput = { acked: [...keys.values()].filter((k) => k.outcome === 'ok'), logs: input.logs, catalog: input.catalog, initialQuantity: input.initialQuantity };
  return { ...logFacts(log), nemesis: input.nemesis, ops: input.ops, partitions: input.partitions, frontendOutages: input.frontendOutages, keys };
}

/** Runs every check of a chaos run over its history and final state. */
export function check(input: CheckInput): CheckReport {
  const facts = historyFacts(input);
  const checks: CheckResult<CheckId>[] = runChecks<HistoryFacts, CheckId>(HISTORY_CHECKS, facts);
  return { ok: checks.every((c) => c.verdict === 'pass'), reference: facts.ref?.name ?? null, checks };
}
