import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { ClientOp, FaultEvent, HistoryLine } from '@app/verify';

/**
 * The history of a chaos run: one JSON object per line, in completion order. Client operations
 * (`type: "op"`) are what the checker reads; nemesis events (`type: "nemesis"`) are there to read
 * the timeline by eye. Times are milliseconds since the run started.
 */

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

  /** `extra`: a partition's shape and scope (see FaultEvent). */
  fault(kind: string, target: string, detail?: string, extra: Pick<FaultEvent, 'shape' | 'scope'> = {}): FaultEvent {
    const e: FaultEvent = { type: 'nemesis', t: this.now(), kind, target, ...(detail ? { detail } : {}), ...extra };
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
