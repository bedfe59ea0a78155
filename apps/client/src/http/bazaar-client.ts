import { types } from 'node:util';
import { FrontendRoutes, IDEMPOTENCY_KEY_HEADER } from '@app/contracts/routes';
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
  /** Front end base URL, e.g. `http://127.0.0.1:30001`. */
  url: string;
  /** Per-request timeout (whole exchange, body included). */
  timeoutMs: number;
  /** Injected for tests: a fake `fetch` that requests go through instead of {@link nodeHttpTransport}. */
  fetchImpl?: FetchLike;
}

export const DEFAULT_URL = 'http://127.0.0.1:30001';
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The public API of the bazaar, as a thin typed wrapper over HTTP. It never throws for an
 * HTTP status or a transport failure: every call resolves to an {@link HttpOutcome} with the
 * measured latency, and callers decide what counts as an error.
 */
export class BazaarClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly transport: Transport;

  constructor(options: BazaarClientOptions) {
    // A trailing slash makes relative routes resolve under any path prefix the URL carries.
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.timeoutMs = options.timeoutMs;
    this.transport = options.fetchImpl ? fetchTransport(options.fetchImpl) : nodeHttpTransport();
  }

  /** `GET /stocks?stock_name=S`. */
  lookup(stockName: string): Promise<HttpOutcome> {
    const url = new URL(FrontendRoutes.stocks, this.base);
    url.searchParams.set('stock_name', stockName);
    return this.send('GET', url);
  }

  /** `POST /orders`, with an `Idempotency-Key` header when a key is given. */
  trade(stockName: string, tradeType: string, quantity: number, idempotencyKey?: string): Promise<HttpOutcome> {
    const url = new URL(FrontendRoutes.orders, this.base);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (idempotencyKey !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = idempotencyKey;
    const body = JSON.stringify({ stock_name: stockName, trade_type: tradeType, quantity });
    return this.send('POST', url, body, headers, idempotencyKey !== undefined);
  }

  /** `GET /cache/stats`: the front end's cache counters (used by the sweep for hit ratios). */
  cacheStats(): Promise<HttpOutcome> {
    return this.send('GET', new URL(FrontendRoutes.cacheStats, this.base));
  }

  /** The front end's `GET /status.json`: the cluster at a glance (`client status`). */
  status(): Promise<HttpOutcome> {
    return this.send('GET', this.statusUrl());
  }

  /** Where {@link status} asks, for messages. */
  statusUrl(): URL {
    return new URL(FrontendRoutes.statusJson, this.base);
  }

  /** `GET /orders?order_no=N`. */
  order(orderNo: number | string): Promise<HttpOutcome> {
    const url = new URL(FrontendRoutes.orders, this.base);
    url.searchParams.set('order_no', String(orderNo));
    return this.send('GET', url);
  }

  /** `idempotent`: sending it twice does what sending it once does (every GET; a keyed trade). */
  private async send(
    method: string,
    url: URL,
    body?: string,
    headers?: Record<string, string>,
    idempotent = method === 'GET',
  ): Promise<HttpOutcome> {
    const start = process.hrtime.bigint();
    const elapsedUs = (): number => Number(process.hrtime.bigint() - start) / 1000;
    try {
      const { status, text } = await this.transport({ method, url, headers, body, timeoutMs: this.timeoutMs, idempotent });
      return { kind: 'response', status, body: parseJson(text), text, latencyUs: elapsedUs() };
    } catch (err: unknown) {
      return { kind: 'transport', error: describeTransportError(err, this.timeoutMs), url: `${url.origin}${url.pathname}`, latencyUs: elapsedUs() };
    }
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
export function describeTransportError(err: unknown, timeoutMs: number): string {
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
