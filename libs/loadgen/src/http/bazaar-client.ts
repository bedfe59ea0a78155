import { randomUUID } from 'node:crypto';
import { types } from 'node:util';
import { FrontendRoutes, IDEMPOTENCY_KEY_HEADER } from '@app/contracts/routes';
import { MIN_IDEMPOTENCY_RETENTION_MS } from '@app/contracts/idempotency';
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
}

/** A request that got no HTTP response: refused connection, reset, timeout, DNS failure… */
export interface TransportFailure {
  kind: 'transport';
  /** One line, e.g. `ECONNREFUSED` or `timeout after 10000 ms`. */
  error: string;
  /** The URL asked, without its query: `http://127.0.0.1:30001/stocks`. */
  url: string;
  latencyUs: number;
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

/**
 * The public API of the bazaar, as a thin typed wrapper over HTTP. It never throws for an
 * HTTP status or a transport failure: every call resolves to an {@link HttpOutcome} with the
 * measured latency, and callers decide what counts as an error.
 *
 * With several front ends, requests go to one until it fails to answer (refused, reset,
 * timeout); that request then goes to the next, each front end tried at most once per call,
 * and later requests stay with the one that answered. Only a request that may be sent twice
 * moves: every GET, and a trade with an idempotency key — with several front ends the client
 * makes one up when none is given, so a trade is never retried without one — within
 * {@link KEYED_TRADE_MOVE_WINDOW_MS} of its first sending.
 */
export class BazaarClient {
  private readonly bases: URL[];
  private current = 0;
  private readonly timeoutMs: number;
  private readonly transport: Transport;

  constructor(options: BazaarClientOptions) {
    // A trailing slash makes relative routes resolve under any path prefix the URL carries.
    const urls = splitUrls(options.url);
    this.bases = (urls.length > 0 ? urls : [options.url]).map((u) => new URL(u.endsWith('/') ? u : `${u}/`));
    this.timeoutMs = options.timeoutMs;
    this.transport = options.fetchImpl ? fetchTransport(options.fetchImpl) : nodeHttpTransport();
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
   * `POST /orders`, with an `Idempotency-Key` header when a key is given — and, with several front
   * ends, a key of its own otherwise, so that the trade can be retried on another.
   */
  trade(stockName: string, tradeType: string, quantity: number, idempotencyKey?: string): Promise<HttpOutcome> {
    const key = idempotencyKey ?? (this.bases.length > 1 ? randomUUID() : undefined);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = key;
    const body = JSON.stringify({ stock_name: stockName, trade_type: tradeType, quantity });
    return this.send('POST', (base) => new URL(FrontendRoutes.orders, base), body, headers, key !== undefined);
  }

  /** `GET /cache/stats`: the front end's cache counters (used by the sweep for hit ratios). */
  cacheStats(): Promise<HttpOutcome> {
    return this.send('GET', (base) => new URL(FrontendRoutes.cacheStats, base));
  }

  /** The front end's `GET /status.json`: the cluster at a glance (`client status`). */
  status(): Promise<HttpOutcome> {
    return this.send('GET', (base) => new URL(FrontendRoutes.statusJson, base));
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

  /** `idempotent`: sending it twice does what sending it once does (every GET; a keyed trade). */
  private async send(
    method: string,
    urlAt: (base: URL) => URL,
    body?: string,
    headers?: Record<string, string>,
    idempotent = method === 'GET',
  ): Promise<HttpOutcome> {
    const start = process.hrtime.bigint();
    const elapsedUs = (): number => Number(process.hrtime.bigint() - start) / 1000;
    let failure: TransportFailure | undefined;
    for (let attempt = 0; attempt < this.bases.length; attempt++) {
      const index = (this.current + attempt) % this.bases.length;
      const url = urlAt(this.bases[index]);
      try {
        const { status, text } = await this.transport({ method, url, headers, body, timeoutMs: this.timeoutMs, idempotent });
        this.current = index;
        return { kind: 'response', status, body: parseJson(text), text, latencyUs: elapsedUs() };
      } catch (err: unknown) {
        const error = describeTransportError(err, this.timeoutMs);
        failure = { kind: 'transport', error, url: `${url.origin}${url.pathname}`, latencyUs: elapsedUs() };
        if (!idempotent || !CONNECTION_FAILURES.test(error)) break;
        if (method !== 'GET' && elapsedUs() >= KEYED_TRADE_MOVE_WINDOW_MS * 1000) break;
      }
    }
    return { ...failure!, latencyUs: elapsedUs() };
  }
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
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timeout after ${timeoutMs} ms`;
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
