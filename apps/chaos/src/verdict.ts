import type { FaultEvent } from '@app/verify';
import { unsettled } from './partition-figures';

/**
 * The nemesis's `error` events, in words: a replica or a front end that could not be restarted, or
 * was not ready (serving) within its timeout, or an exception inside the nemesis. Any of them fails
 * the run, as a `not-settled` event does: a fault the nemesis could not carry out or undo leaves a
 * run whose checks say nothing about the faults it meant to make (and a cluster that did not come
 * back is a finding of its own). Events the nemesis expects — a restart attempt that failed and was
 * retried — have kinds of their own (`restart-retry`); a partition that did not settle is its
 * `not-settled` event alone, not an error too.
 */
export function nemesisErrors(faults: FaultEvent[]): string[] {
  return faults.filter((f) => f.kind === 'error').map((f) => `${Math.round(f.t)} ms ${f.target}: ${f.detail ?? 'error'}`);
}

/** A run's verdict beyond its checks: the times the cluster did not settle and the nemesis's errors. */
export interface RunVerdict {
  /** Every check passed, the cluster settled every time, and the nemesis had no error. */
  ok: boolean;
  /** See {@link unsettled}. */
  unsettled: string[];
  /** See {@link nemesisErrors}. */
  nemesisErrors: string[];
}

/** The verdict of a run whose checks passed (`checksOk`) or not, with the nemesis events of its history. */
export function runVerdict(checksOk: boolean, faults: FaultEvent[]): RunVerdict {
  const notSettled = unsettled(faults);
  const errors = nemesisErrors(faults);
  return { ok: checksOk && notSettled.length === 0 && errors.length === 0, unsettled: notSettled, nemesisErrors: errors };
}
