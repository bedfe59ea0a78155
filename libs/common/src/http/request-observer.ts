import type { IncomingMessage, ServerResponse } from 'node:http';
import { assignRequestId } from './request-context';

/** A request that is over, as the observers see it. */
export interface FinishedRequest {
  req: IncomingMessage & { route?: { path?: unknown } };
  res: ServerResponse;
  /** The request's id (`x-request-id`, see {@link assignRequestId}). */
  id: string;
  /** From arrival to the end, in seconds. */
  seconds: number;
  /** The connection closed before the answer was sent. */
  aborted: boolean;
}

/** Something every request is reported to: the drain, the latency histogram, the request log. */
export interface RequestObserver {
  /** When the request arrives, before any other middleware. */
  started?(req: IncomingMessage, res: ServerResponse): void;
  /** Once, when it is over: answered, or its connection gone. */
  finished(request: FinishedRequest): void;
}

/**
 * Express middleware, installed first: gives the request its id (echoed in `x-request-id`) and
 * sets `X-Content-Type-Options: nosniff` on its answer, and reports it to every observer — at arrival, and once over, from a single `close` listener
 * (`close` follows `finish` for an answered request, and comes alone when the connection dropped
 * first). One middleware layer and one listener per request for all of them: each layer and
 * listener is a measurable share of a cached lookup.
 */
export function observeRequests(observers: RequestObserver[]) {
  const starting = observers.filter((o) => o.started);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const id = assignRequestId(req, res);
    // Every answer says what it is (JSON, or the status page's HTML): a browser must not guess,
    // say, HTML in a JSON error that quotes what the client sent.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const arrived = process.hrtime.bigint();
    for (const o of starting) o.started!(req, res);
    res.once('close', () => {
      const done: FinishedRequest = { req, res, id, seconds: Number(process.hrtime.bigint() - arrived) / 1e9, aborted: !res.writableFinished };
      for (const o of observers) o.finished(done);
    });
    next();
  };
}

const FAILURE = Symbol('failure');

/** What the exception filter answered a request with, for the observers (the request log's level). */
export interface AnsweredFailure {
  status: number;
  /** The machine-readable `code` of the answer's body, if any (see ReplicaRefusal). */
  code?: string;
  /** The answer's message (the request log carries it for a failure it logs). */
  message?: string;
}

/** Records on the response the failure it is answered with (called by the exception filter). */
export function noteFailure(res: ServerResponse, failure: AnsweredFailure): void {
  (res as ServerResponse & { [FAILURE]?: AnsweredFailure })[FAILURE] = failure;
}

/** The failure noted by {@link noteFailure}, if the request failed in the exception filter. */
export function failureOf(res: ServerResponse): AnsweredFailure | undefined {
  return (res as ServerResponse & { [FAILURE]?: AnsweredFailure })[FAILURE];
}
