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
   * unless the answer is read in the poll phase right after the timer fires (see {@link abortAfterReads}).
   */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Query parameters (undefined ones are left out). */
  query?: Record<string, string | number | undefined>;
}

/** The rejection of a hop whose timeout passed (the name `AbortSignal.timeout()` gives it too). */
function timeoutError(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
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

  private async send<T>(method: Dispatcher.HttpMethod, url: string, body: string | undefined, options: HopOptions): Promise<HopResponse<T>> {
    const target = new URL(url);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) target.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...this.baseHeaders, ...options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    // Not AbortSignal.timeout(): its timer outlives the exchange and, when it fires seconds later,
    // builds a DOMException (stack trace included) for every request ever sent.
    const controller = new AbortController();
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    // undici settles an aborted request only once its connection is open (nodejs/undici#386): to
    // a host that drops packets, whose connect hangs, the abort alone would leave the caller
    // waiting for undici's own connect timeout (10 s) instead of `timeoutMs`. So the timeout
    // settles the call itself, and aborts the exchange, which undici then never sends: it checks
    // the signal when the connection opens.
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          giveUpAfterReads(
            () => over,
            () => {
              const reason = timeoutError();
              controller.abort(reason);
              reject(reason);
            },
          ),
        options.timeoutMs,
      );
    });
    const exchange = this.exchange(method, target, headers, body, controller.signal);
    exchange.catch(() => undefined); // settles after the timeout when undici was still connecting
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      ({ res, text } = await Promise.race([exchange, timedOut]));
    } finally {
      over = true;
      clearTimeout(timer);
    }
    const json = /\bjson\b/i.test(String(res.headers['content-type'] ?? ''));
    let data: unknown;
    if (json && text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    return { status: res.statusCode, data: data as T };
  }

  /** The request and its whole body. */
  private async exchange(
    method: Dispatcher.HttpMethod,
    target: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<{ res: Dispatcher.ResponseData; text: string }> {
    const res = await this.agent.request({ origin: target.origin, path: `${target.pathname}${target.search}`, method, headers, body, signal });
    return { res, text: await res.body.text() };
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
