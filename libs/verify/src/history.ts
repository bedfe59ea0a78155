/**
 * A client history as the chaos run records it: every operation the client sessions made, with
 * when it was invoked and completed and what came back, and the nemesis events between them.
 * Times are milliseconds since the run started.
 */

/** ok: a definite success. fail: a definite failure. unknown: the client cannot tell (timeout, 5xx …). */
export type Outcome = 'ok' | 'fail' | 'unknown';

interface OpBase {
  type: 'op';
  /** Unique per history, in invocation order. */
  id: number;
  /** The client session (a sequential client: its next operation starts after this one completed). */
  session: number;
  invoke: number;
  complete: number;
  outcome: Outcome;
  /** HTTP status, or 0 for a transport error / timeout. */
  status: number;
  /** Response message or error text when the outcome is not ok. */
  error?: string;
  /**
   * The front end the request went to ('frontend', 'frontend-2' …), as the nemesis names it in its
   * events; absent in histories recorded before there was more than one.
   */
  frontend?: string;
}

/** `GET /stocks?stock_name=S` through the front end (its cache). */
export interface ReadOp extends OpBase {
  kind: 'read';
  stock_name: string;
  trade_volume?: number;
  quantity?: number;
}

/** One attempt of `POST /orders`; a trade whose outcome was unknown is retried with the same key. */
export interface TradeOp extends OpBase {
  kind: 'trade';
  key: string;
  /** 1 for the first attempt of a key, 2 for its first retry … */
  attempt: number;
  stock_name: string;
  trade_type: string;
  quantity: number;
  order_no?: number;
  /** fail only: why the failure is definite. refused = 409 "Trade failed!" (the catalog said no). */
  reason?: 'refused' | 'insufficient-replicas' | 'rejected';
}

/** `GET /orders?order_no=N` through the front end, after the run, for every acknowledged order. */
export interface ReadbackOp extends OpBase {
  kind: 'readback';
  order_no: number;
  key: string;
  data?: { order_no: number; stock_name: string; trade_type: string; quantity: number };
}

export type ClientOp = ReadOp | TradeOp | ReadbackOp;

export interface FaultEvent {
  type: 'nemesis';
  /** ms since the run started. */
  t: number;
  /** kill, pause, resume, restart, ready, arm, handover, crash-point-fired, disarm, heal, error … */
  kind: string;
  target: string;
  /** Free text: the role the target had, the fault point, how long it took to recover … */
  detail?: string;
  /**
   * On a `partition` event: the requests its span excuses, when not every 503 or unanswered
   * request (see {@link PartitionScope}); absent: all of them, as before there were scopes.
   */
  scope?: PartitionScope;
  /** On a `partition` event: its shape (`isolate`, `frontend-from-catalog` …), for the figures. */
  shape?: string;
}

/** The kinds of client request a partition may excuse (read-backs are never judged for failures). */
export type ExcusableKind = 'read' | 'trade';

/**
 * Which requests a partition can make fail. Most partitions cut replicas off from each other or
 * from the front ends: any request may find no leader, so every 503 or unanswered one overlapping
 * the span is excused (no scope). A front end cut off from the catalog only loses what needs the
 * catalog there — its stock lookups (once its lease has run out, from the catalog) — while its
 * trades go to the order leader, which reaches the catalog itself: the scope names that front end
 * and those kinds, and a failed request through another front end, or of another kind, is not
 * excused.
 */
export interface PartitionScope {
  /** Only requests through this front end (process name: `frontend`, `frontend-2` …). */
  frontend?: string;
  /** Only requests of these kinds. */
  kinds?: ExcusableKind[];
}

export type HistoryLine = ClientOp | FaultEvent;

/** A span of a run (ms, the history's clock). */
export interface TimeWindow {
  from: number;
  to: number;
}

/** A partition's span, with the requests it excuses (no scope fields: every 503 or unanswered one). */
export interface PartitionWindow extends TimeWindow, PartitionScope {}

/**
 * Whether `op`, a client-visible failure, is one that partition `w` excuses: a 503 or no answer at
 * all, overlapping the span (until the cluster settled after the heal), and within its scope —
 * through its front end, of its kinds — when it has one. A request whose front end was not recorded
 * is not within a front end's scope.
 */
export function excusedByPartition(op: ClientOp, w: PartitionWindow): boolean {
  if (op.kind === 'readback' || (op.status !== 503 && op.status !== 0)) return false;
  if (!(op.invoke <= w.to && op.complete >= w.from)) return false;
  if (w.frontend !== undefined && op.frontend !== w.frontend) return false;
  return w.kinds === undefined || w.kinds.includes(op.kind);
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

/**
 * The partition spans of a run, from its nemesis events: each `partition` to the next
 * `partition-over` (the cluster settled after the heal); one never over lasts to the end. Each
 * carries the `partition` event's scope (see {@link PartitionScope}), if it had one.
 */
export function partitionWindows(faults: FaultEvent[]): PartitionWindow[] {
  const windows: PartitionWindow[] = [];
  let open: FaultEvent | null = null;
  const scopeOf = (e: FaultEvent): PartitionScope => ({
    ...(e.scope?.frontend !== undefined ? { frontend: e.scope.frontend } : {}),
    ...(e.scope?.kinds !== undefined ? { kinds: [...e.scope.kinds] } : {}),
  });
  for (const f of [...faults].sort((a, b) => a.t - b.t)) {
    if (f.kind === 'partition' && open === null) open = f;
    else if (f.kind === 'partition-over' && open !== null) {
      windows.push({ from: open.t, to: f.t, ...scopeOf(open) });
      open = null;
    }
  }
  if (open !== null) windows.push({ from: open.t, to: Infinity, ...scopeOf(open) });
  return windows;
}

/**
 * Each front end's outages in a run, from its nemesis events: each `kill` of a target named
 * `frontend…` to the next `ready` of that target; one never ready again lasts to the end. Keyed by
 * target; other targets (order replicas) are left out.
 */
export function frontendOutages(faults: FaultEvent[]): Record<string, TimeWindow[]> {
  const outages: Record<string, TimeWindow[]> = {};
  const open = new Map<string, number>();
  for (const f of [...faults].sort((a, b) => a.t - b.t)) {
    if (!f.target.startsWith('frontend')) continue;
    if (f.kind === 'kill' && !open.has(f.target)) open.set(f.target, f.t);
    else if (f.kind === 'ready' && open.has(f.target)) {
      (outages[f.target] ??= []).push({ from: open.get(f.target)!, to: f.t });
      open.delete(f.target);
    }
  }
  for (const [target, from] of open) (outages[target] ??= []).push({ from, to: Infinity });
  return outages;
}

/** A client-visible failure: anything but a success or a definite refusal by the catalog. */
export function isClientFailure(op: ClientOp): boolean {
  if (op.kind === 'readback') return false;
  if (op.outcome === 'ok') return false;
  return !(op.kind === 'trade' && op.outcome === 'fail' && op.reason === 'refused');
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
