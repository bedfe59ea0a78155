import { type ClientOp, type FaultEvent, partitionWindows } from '@app/verify';

export interface PartitionFigures {
  target: string;
  what: string;
  /** ms since the load started: the partition's start, and the cluster settled after its heal. */
  from: number;
  to: number;
  acked: number;
  /** Longest time inside the span with no trade acknowledged (a measure of the stall, not asserted). */
  longestWithoutAckMs: number;
}

/** For each partition span: trades acknowledged in it and the longest stretch without an acknowledgement. */
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
    return { target: starts[i]?.target ?? '?', what: starts[i]?.detail ?? '?', from: w.from, to, acked: acks.length, longestWithoutAckMs: Math.round(longest) };
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
