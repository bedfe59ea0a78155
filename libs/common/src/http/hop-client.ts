import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Agent, type Dispatcher } from 'undici';
import { CLUSTER_TOKEN_HEADER, CommonEnv } from '@app/contracts';

/** An answer of another bazaar service: its status and its body (parsed when JSON, else undefined). */
export interface HopResponse<T> {
  status: number;
  data: T;
}

export interface HopOptions {
  /**
   * The whole exchange, connection included; past it the call rejects with a `TimeoutError`,
   * unless the answer is read in the poll phase right after the timer fires (see {@link giveUpAfterReads}).
   */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Query parameters (undefined ones are left out). */
  query?: Record<string, string | number | undefined>;
  /** Ends the exchange early when aborted (rejects with the signal's reason), as its timeout would. */
  signal?: AbortSignal;
}

/** The rejection of a hop whose timeout passed (the name `AbortSignal.timeout()` gives it too). */
function timeoutError(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

/** What an exchange ended by its signal rejects with: the signal's reason, as an Error. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

/**
 * A hop's timeout, once its timer has fired: gives up on the exchange unless it is `over`, but
 * only after the event loop's next poll phase, from `setImmediate`. A timer that fired late
 * because the process was not running (stopped with SIGSTOP, or its loop blocked) fires in the
 * timers phase, before the poll phase reads the sockets that became ready meanwhile: an answer
 * that arrived in time would otherwise be thrown away unread, and the trade it carried failed.
 * With a timely timer this only adds one turn of the loop to a timeout.
 */
function giveUpAfterReads(over: () => boolean, giveUp: () => void): void {
  setImmediate(() => {
    if (!over()) giveUp();
  });
}

/** A transport failure that, on a GET, is the keep-alive race when the connection was reused. */
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

/**
 * One exchange, as undici's dispatcher handler: collects the answer's status, content type and body
 * and settles once — with the answer, with undici's error, or at the timeout. `Agent.request()`
 * would wrap each answer in a Readable stream read through promises, and need an AbortController
 * whose signal undici listens to; on the trade path's small JSON bodies those were a good part of
 * the client's CPU per exchange. Here the timeout aborts the exchange through undici's own
 * controller.
 *
 * undici settles an aborted request only once its connection is open (nodejs/undici#386): to a
 * host that drops packets, whose connect hangs, an abort alone would leave the caller waiting for
 * undici's own connect timeout (10 s) instead of `timeoutMs`. So the timeout settles the call
 * itself; an exchange whose connection has not opened yet is aborted when it opens, before undici
 * writes the request (see {@link onRequestStart}).
 */
class Exchange<T> implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private cancelled?: Error;
  private settled = false;
  private status = 0;
  private contentType = '';
  private chunks: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;
  /** Stops listening to the exchange's signal, when it has one (most have none: no closure then). */
  private unlisten?: () => void;

  constructor(
    timeoutMs: number,
    private readonly resolve: (answer: HopResponse<T>) => void,
    private readonly reject: (err: unknown) => void,
    signal?: AbortSignal,
  ) {
    this.timer = setTimeout(
      () =>
        giveUpAfterReads(
          () => this.settled,
          () => this.cancel(timeoutError()),
        ),
      timeoutMs,
    );
    if (!signal) return;
    const onAbort = () => this.cancel(abortReason(signal));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal.removeEventListener('abort', onAbort);
  }

  /** Called when the connection is open, right before undici writes the request. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.cancelled) controller.abort(this.cancelled);
    else this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // Also for a 1xx answer: the final one's status, headers and body replace it.
    this.status = statusCode;
    this.contentType = String(headers['content-type'] ?? '');
    this.chunks = [];
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.settle()) return;
    const text = this.chunks.length === 1 ? this.chunks[0].toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    let data: unknown;
    if (text.length > 0 && /\bjson\b/i.test(this.contentType)) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    this.resolve({ status: this.status, data: data as T });
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.settle()) this.reject(err);
  }

  private cancel(reason: Error): void {
    this.cancelled = reason;
    if (this.settle()) this.reject(reason);
    this.controller?.abort(reason);
  }

  /** Ends the exchange's timer (and stops listening to its signal); false when it had already settled. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.unlisten?.();
    return true;
  }
}

/**
 * The HTTP client of the trade path's hops between the bazaar's own services: the front end's
 * trade and order forwards and its stock lookups, the leader's catalog trades and log syncs, the
 * catalog's invalidation pushes. Built on undici, whose request costs a third to a sixth of the
 * CPU of an axios one through node's `http` agent on this VM (about 100 against 380–670 µs per
 * exchange, client and server in one process): a trade makes six such exchanges in a row, and at
 * one connection their CPU is its latency. The front end's election also probes every replica
 * through it (three pings every ELECTION_INTERVAL_MS, the cluster's steadiest traffic at rest).
 * The rest of the control plane (leases, and the replicas' calls to one another: status,
 * elections, catch-up) stays on `HttpService` ({@link InternalHttpModule}).
 *
 * Like that client: keep-alive (an idle connection is let go before the server's `Keep-Alive`
 * hint says it would close it), the cluster token on every request, statuses returned and never
 * thrown, transport errors (refused, reset, timeout) rejected, no proxy from the environment. A
 * GET whose connection was reset before any answer is sent once more (the
 * keep-alive race — undici does not say whether the connection was reused, and a GET changes
 * nothing, so any reset GET is resent once); a POST is never resent here, since it may have been
 * handled — the trade paths retry with their own idempotency keys.
 */
@Injectable()
export class HopClient implements OnModuleDestroy {
  private readonly agent = new Agent({
    // Idle connections close 4 s after their last use, or earlier when the server hints so (less 1 s).
    keepAliveTimeout: 4_000,
    keepAliveTimeoutThreshold: 1_000,
    connections: 256,
  });
  private readonly baseHeaders: Record<string, string>;

  constructor(config: ConfigService<CommonEnv, true>) {
    const token = config.get('CLUSTER_TOKEN', { infer: true });
    this.baseHeaders = token ? { [CLUSTER_TOKEN_HEADER]: token } : {};
  }

  get<T>(url: string, options: HopOptions): Promise<HopResponse<T>> {
    return this.send<T>('GET', url, undefined, options).catch((err: unknown) => {
      if (!RESET_CODES.has((err as { code?: string }).code ?? '')) throw err;
      return this.send<T>('GET', url, undefined, options);
    });
  }

  post<T>(url: string, body: unknown, options: HopOptions): Promise<HopResponse<T>> {
    return this.send<T>('POST', url, JSON.stringify(body), options);
  }

  private send<T>(method: Dispatcher.HttpMethod, url: string, body: string | undefined, options: HopOptions): Promise<HopResponse<T>> {
    // Everything inside the executor, so that a bad URL rejects rather than throws.
    return new Promise<HopResponse<T>>((resolve, reject) => {
      const target = new URL(url);
      for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) target.searchParams.set(k, String(v));
      const headers: Record<string, string> = { ...this.baseHeaders, ...options.headers };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const exchange = new Exchange<T>(options.timeoutMs, resolve, reject, options.signal);
      if (options.signal?.aborted) return;
      try {
        this.agent.dispatch({ origin: target.origin, path: `${target.pathname}${target.search}`, method, headers, body }, exchange);
      } catch (err) {
        exchange.onResponseError(null, err as Error);
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
