import { type ClientOp, excusedByPartition, type FaultEvent, isClientFailure, type PartitionScope, partitionWindows } from '@app/verify';

export interface PartitionFigures {
  target: string;
  what: string;
  /** Its shape (`isolate`, `frontend-from-catalog` …; absent in histories from before it was recorded). */
  shape?: string;
  /** The requests it may make fail, when not any: `frontend-from-catalog`'s, the lookups through the cut front end. */
  scope?: PartitionScope;
  /** Client-visible failures it excused (a 503 or no answer inside its span and scope). */
  excused: number;
  /** ms since the load started: the partition's start, and the cluster settled after its heal. */
  from: number;
  to: number;
  acked: number;
  /** Longest time inside the span with no trade acknowledged (a measure of the stall, not asserted). */
  longestWithoutAckMs: number;
}

/** For each partition span: trades acknowledged in it, the longest stretch without an acknowledgement, and the failures it excused. */
export function partitionFigures(ops: ClientOp[], faults: FaultEvent[]): PartitionFigures[] {
  const starts = faults.filter((f) => f.kind === 'partition');
  // A loop, not Math.max(...ops): a 5-minute run records about 100,000 operations, past the arguments a call can take.
  const end = ops.reduce((latest, o) => Math.max(latest, o.complete), 0);
  return partitionWindows(faults).map((w, i) => {
    const to = Number.isFinite(w.to) ? w.to : end;
    const acks = ops
      .filter((o) => o.kind === 'trade' && o.outcome === 'ok' && o.complete >= w.from && o.complete <= to)
      .map((o) => o.complete)
      .sort((a, b) => a - b);
    let longest = 0;
    let last = w.from;
    for (const t of [...acks, to]) {
      longest = Math.max(longest, t - last);
      last = t;
    }
    const start = starts[i];
    const excused = ops.filter((o) => isClientFailure(o) && excusedByPartition(o, w)).length;
    return {
      target: start?.target ?? '?',
      what: start?.detail ?? '?',
      ...(start?.shape ? { shape: start.shape } : {}),
      ...(start?.scope ? { scope: start.scope } : {}),
      from: w.from,
      to,
      acked: acks.length,
      longestWithoutAckMs: Math.round(longest),
      excused,
    };
  });
}

/**
 * The times the cluster did not settle — every replica ready and every front end naming the same
 * leader after a partition's heal, or, with two front ends cut from different replicas, every
 * front end naming the one replica they all reach while cut, or at the end of every run, every
 * front end naming one leader at one epoch for a while — as the nemesis's `not-settled` events,
 * in words. Any of them fails the run: the checks see only what the clients saw, and front ends
 * deposing each other's leaders without end can leave every client request answered.
 */
export function unsettled(faults: FaultEvent[]): string[] {
  return faults.filter((f) => f.kind === 'not-settled').map((f) => `${Math.round(f.t)} ms ${f.target}: ${f.detail ?? 'not settled'}`);
}
