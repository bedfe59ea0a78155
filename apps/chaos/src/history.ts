import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The history of a chaos run: one JSON object per line, in completion order. Client operations
 * (`type: "op"`) are what the checker reads; nemesis events (`type: "nemesis"`) are there to read
 * the timeline by eye. Times are milliseconds since the run started.
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
}

export type HistoryLine = ClientOp | FaultEvent;

/** Appends history lines to a JSON-lines file as they happen (so an interrupted run keeps its history). */
export class HistoryWriter {
  private nextId = 1;
  readonly ops: ClientOp[] = [];
  readonly faults: FaultEvent[] = [];

  constructor(
    readonly file: string,
    private readonly startedAt: number,
  ) {
    writeFileSync(file, '');
  }

  now(): number {
    return Math.round((performance.now() - this.startedAt) * 10) / 10;
  }

  newId(): number {
    return this.nextId++;
  }

  op(op: ClientOp): void {
    this.ops.push(op);
    appendFileSync(this.file, JSON.stringify(op) + '\n');
  }

  fault(kind: string, target: string, detail?: string): FaultEvent {
    const e: FaultEvent = { type: 'nemesis', t: this.now(), kind, target, ...(detail ? { detail } : {}) };
    this.faults.push(e);
    appendFileSync(this.file, JSON.stringify(e) + '\n');
    return e;
  }
}

/** Reads a history file back (for `--check <dir>`). */
export function readHistory(file: string): { ops: ClientOp[]; faults: FaultEvent[] } {
  const ops: ClientOp[] = [];
  const faults: FaultEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const v = JSON.parse(line) as HistoryLine;
    if (v.type === 'op') ops.push(v);
    else if (v.type === 'nemesis') faults.push(v);
  }
  return { ops, faults };
}
