import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { types } from 'node:util';
import { FrontendRoutes, IDEMPOTENCY_KEY_HEADER } from '@app/contracts/routes';
import { MIN_IDEMPOTENCY_RETENTION_MS } from '@app/contracts/idempotency';
import { Backoff, type BackoffPolicy } from '../load/backoff';
import { fetchTransport, nodeHttpTransport, type FetchLike, type Transport } from './transport';

export type { FetchLike } from './transport';

/** The request types the client measures. */
export type RequestType = 'lookup' | 'trade' | 'order_check';

/** An HTTP exchange that completed: some status and its body. */
export interface HttpResponse {
  kind: 'response';
  status: number;
  /** Parsed JSON body, or `undefined` when the body was empty or not JSON. */
  body: unknown;
  /** The raw body text. */
  text: string;
  latencyUs: number;
  /** Times the request was sent: more than 1 when a sending got no answer and it was sent again. */
  attempts: number;
  /** A trade's `Idempotency-Key`: the one it was sent with, which the front end echoes in its answer. */
  idempotencyKey?: string;
}

/** A request that got no HTTP response: refused connection, reset, timeout, DNS failure… */
export interface TransportFailure {
  kind: 'transport';
  /** One line, e.g. `ECONNREFUSED` or `timeout after 10000 ms`. */
  error: string;
  /** The URL asked, without its query: `http://127.0.0.1:30001/stocks`. */
  url: string;
  latencyUs: number;
  /** Times the request was sent, each without an answer. */
  attempts: number;
  /**
   * Some sending may have reached the server: it connected, then the answer did not come (reset,
   * timeout). For a trade the outcome is unknown — it may have gone through. False when every
   * sending was refused before it left (nothing was traded).
   */
  mayHaveArrived: boolean;
  /** A trade's `Idempotency-Key`: sending it again with this key learns its outcome. */
  idempotencyKey?: string;
}

export type HttpOutcome = HttpResponse | TransportFailure;

export interface BazaarClientOptions {
  /**
   * Front end base URL, e.g. `http://127.0.0.1:30001`, or several, comma-separated: a request that
   * gets no answer from one (refused, reset, timeout) is sent to the next.
   */
  url: string;
  /** Per-request timeout (whole exchange, body included). */
  timeoutMs: number;
  /** Injected for tests: a fake `fetch` that requests go through instead of {@link nodeHttpTransport}. */
  fetchImpl?: FetchLike;
  /**
   * Whether a trade that got no answer is sent again with its key (default true, see
   * {@link BazaarClient}). The chaos runner turns it off: it resends trades itself and records
   * every sending in its history.
   */
  resendUnanswered?: boolean;
  /** The waits before each resend of a trade to a front end already tried ({@link UNANSWERED_TRADE_BACKOFF}). */
  resendBackoff?: BackoffPolicy;
}

export const DEFAULT_URL = 'http://127.0.0.1:30001';

/**
 * A keyed trade moves to another front end only within this long of its first sending. The front end
 * it lands on resends it for up to `FAILOVER_TIMEOUT_MS` (30 s at most), so every copy of the
 * trade reaches a leader within 45 s of the first: inside its key's window (one minute at least,
 * {@link MIN_IDEMPOTENCY_RETENTION_MS}), where the same key still names the same trade. A later
 * move could come after the key was forgotten and trade again.
 */
export const KEYED_TRADE_MOVE_WINDOW_MS = MIN_IDEMPOTENCY_RETENTION_MS / 4;
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Waits before a trade that got no answer is sent again to a front end already tried: long enough
 * not to hammer one that is restarting, short next to the front end's own failover hold.
 */
export const UNANSWERED_TRADE_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 2000, factor: 2 };

/** The base URLs of a `--url` value: one, or several separated by commas. */
export function splitUrls(url: string): string[] {
  return url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

/**
 * Failures after which the same request may go to another front end: no answer came, because
 * the connection could not be made, broke, or timed out.
 */
const CONNECTION_FAILURES = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EAI_AGAIN|ENOTFOUND|EINVAL|socket hang up|timeout after)/;

/** Failures before any byte of the request left: no connection was made, so the server saw nothing. */
const NEVER_SENT = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)/;

/**
 * The public API of the bazaar, as a thin typed wrapper over HTTP. It never throws for an
 * HTTP status or a transport failure: every call resolves to an {@link HttpOutcome} with the
 * measured latency, and callers decide what counts as an error.
 *
 * With several front ends, requests go to one until it fails to answer (refused, reset,
 * timeout); that request then goes to the next, and later requests stay with the one that
 * answered. Only a request that may be sent twice is sent again: every GET, each front end tried
 * once, and a trade, which always carries an idempotency key (the client makes one up when none
 * is given) — the front end answers the same key with the same outcome and trades at most once.
 * A GET answered 503 moves on too (a front end cut off from the catalog answers lookups 503 at
 * once); when every front end answers 503, the last answer is the outcome. A trade answered 503
 * does not: every front end would say the same of the replicas.
 *
 * A trade that got no answer may have gone through: a front end holds a trade through a failover
 * for up to `FAILOVER_TIMEOUT_MS` (15 s by default), longer than the client's default timeout.
 * So once every front end has been tried, a trade whose outcome is unknown (some sending
 * connected, then no answer came) is sent again with its key, after a short backoff
 * ({@link UNANSWERED_TRADE_BACKOFF}), to the same front end when there is one: its answer is the
 * trade's outcome. A trade every sending of which was refused is not resent there (the outcome is
 * known: nothing was traded). A trade is sent only within {@link KEYED_TRADE_MOVE_WINDOW_MS} of
 * its first sending, so that every copy ends inside its key's window.
 */
export class BazaarClient {
  private readonly bases: URL[];
  private current = 0;
  private readonly timeoutMs: number;
  private readonly transport: Transport;
  private readonly resendUnanswered: boolean;
  private readonly resendBackoff: BackoffPolicy;

  constructor(options: BazaarClientOptions) {
    // A trailing slash makes relative routes resolve under any path prefix the URL carries.
    const urls = splitUrls(options.url);
    this.bases = (urls.length > 0 ? urls : [options.url]).map((u) => new URL(u.endsWith('/') ? u : `${u}/`));
    this.timeoutMs = options.timeoutMs;
    this.transport = options.fetchImpl ? fetchTransport(options.fetchImpl) : nodeHttpTransport();
    this.resendUnanswered = options.resendUnanswered ?? true;
    this.resendBackoff = options.resendBackoff ?? UNANSWERED_TRADE_BACKOFF;
  }

  /** The front end requests go to now. */
  private get base(): URL {
    return this.bases[this.current];
  }

  /** `GET /stocks?stock_name=S`. */
  lookup(stockName: string): Promise<HttpOutcome> {
    return this.send('GET', (base) => {
      const url = new URL(FrontendRoutes.stocks, base);
      url.searchParams.set('stock_name', stockName);
      return url;
    });
  }

  /**
   * `POST /orders` with an `Idempotency-Key` header: the key given, else a random UUID, so that a
   * trade that got no answer can be sent again and its outcome learnt without trading twice. The
   * outcome carries the key.
   */
  async trade(stockName: string, tradeType: string, quantity: number, idempotencyKey?: string): Promise<HttpOutcome> {
    const key = idempotencyKey ?? randomUUID();
    const headers: Record<string, string> = { 'content-type': 'application/json', [IDEMPOTENCY_KEY_HEADER]: key };
    const body = JSON.stringify({ stock_name: stockName, trade_type: tradeType, quantity });
    const outcome = await this.send('POST', (base) => new URL(FrontendRoutes.orders, base), { body, headers, idempotent: true, resend: this.resendUnanswered });
    return { ...outcome, idempotencyKey: key };
  }

  /** `GET /cache/stats`: the front end's cache counters (used by the sweep for hit ratios). */
  cacheStats(): Promise<HttpOutcome> {
    return this.send('GET', (base) => new URL(FrontendRoutes.cacheStats, base));
  }

  /**
   * The front end's `GET /status.json`: the cluster at a glance (`client status`). `signal` ends
   * the exchange at once (an outcome whose error is `aborted`), whatever the timeout.
   */
  status(signal?: AbortSignal): Promise<HttpOutcome> {
    return this.send('GET', (base) => new URL(FrontendRoutes.statusJson, base), { signal });
  }

  /** Where {@link status} asks, for messages. */
  statusUrl(): URL {
    return new URL(FrontendRoutes.statusJson, this.base);
  }

  /** `GET /orders?order_no=N`. */
  order(orderNo: number | string): Promise<HttpOutcome> {
    return this.send('GET', (base) => {
      const url = new URL(FrontendRoutes.orders, base);
      url.searchParams.set('order_no', String(orderNo));
      return url;
    });
  }

  /**
   * `idempotent`: sending it twice does what sending it once does (every GET; a keyed trade).
   * `resend`: once every front end has been tried, send it again while its outcome is unknown.
   * `signal`: abandons the exchange, and sends nothing more.
   */
  private async send(
    method: string,
    urlAt: (base: URL) => URL,
    { body, headers, idempotent = method === 'GET', resend = false, signal }: SendOptions = {},
  ): Promise<HttpOutcome> {
    const start = process.hrtime.bigint();
    const elapsedUs = (): number => Number(process.hrtime.bigint() - start) / 1000;
    const windowOver = (): boolean => method !== 'GET' && elapsedUs() >= KEYED_TRADE_MOVE_WINDOW_MS * 1000;
    const backoff = new Backoff(this.resendBackoff);
    let failure: TransportFailure | undefined;
    /** A GET's 503 from a front end tried before the next: the outcome if no other answers better. */
    let unavailable: HttpOutcome | undefined;
    let mayHaveArrived = false;
    for (let attempt = 0; ; attempt++) {
      if (attempt >= this.bases.length) {
        // Every front end has been tried: only a trade whose outcome is unknown goes round again.
        if (!resend || !mayHaveArrived) break;
        await sleep(backoff.fail());
        if (windowOver()) break;
      }
      const index = (this.current + attempt) % this.bases.length;
      const url = urlAt(this.bases[index]);
      try {
        const { status, text } = await this.transport({ method, url, headers, body, timeoutMs: this.timeoutMs, idempotent, signal });
        const outcome: HttpOutcome = { kind: 'response', status, body: parseJson(text), text, latencyUs: elapsedUs(), attempts: attempt + 1 };
        if (method === 'GET' && status === 503 && attempt + 1 < this.bases.length) {
          unavailable = outcome;
          continue;
        }
        this.current = index;
        return outcome;
      } catch (err: unknown) {
        const error = describeTransportError(err, this.timeoutMs);
        mayHaveArrived ||= !NEVER_SENT.test(error);
        failure = { kind: 'transport', error, url: `${url.origin}${url.pathname}`, latencyUs: elapsedUs(), attempts: attempt + 1, mayHaveArrived };
        if (!idempotent || !CONNECTION_FAILURES.test(error) || windowOver()) break;
      }
    }
    if (unavailable) return { ...unavailable, latencyUs: elapsedUs(), attempts: Math.max(unavailable.attempts, failure?.attempts ?? 0) };
    return { ...failure!, latencyUs: elapsedUs() };
  }
}

interface SendOptions {
  body?: string;
  headers?: Record<string, string>;
  idempotent?: boolean;
  resend?: boolean;
  signal?: AbortSignal;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A one-line reason for a failed exchange: the system error code when there is one. */
function describeTransportError(err: unknown, timeoutMs: number): string {
  // isNativeError also knows errors made in another realm (node core's, under jest's sandbox).
  if (err instanceof Error || types.isNativeError(err)) {
    if (err.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
    if (err.name === 'AbortError') return 'aborted';
    // node:http errors carry the code; undici (fetch) wraps them: TypeError('fetch failed', { cause }).
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause: unknown = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error || types.isNativeError(cause)) {
      const causeCode = (cause as Error & { code?: unknown }).code;
      return typeof causeCode === 'string' ? causeCode : cause.message;
    }
    return err.message;
  }
  return String(err);
}
