import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { text } from 'node:stream/consumers';

export interface TransportRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** For the whole exchange, body included. */
  timeoutMs: number;
  /**
   * Sending it twice has the effect of sending it once (a GET, a trade with an idempotency key):
   * only such a request is sent again after the keep-alive race (see {@link nodeHttpTransport}).
   */
  idempotent?: boolean;
  /** Ends the exchange at once when aborted (Ctrl-C during `status --watch`): rejects with {@link TransportAbortedError}. */
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** The body as UTF-8 text. */
  text: string;
}

/** One HTTP exchange. Resolves for every status; rejects only when no complete response came. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** The exchange did not complete within its timeout (`name` as `AbortSignal.timeout`'s error). */
export class TransportTimeoutError extends Error {
  override readonly name = 'TimeoutError';

  constructor(timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
  }
}

/** The exchange was abandoned through its {@link TransportRequest.signal}. */
export class TransportAbortedError extends Error {
  override readonly name = 'AbortError';

  constructor() {
    super('aborted');
  }
}

/**
 * `node:http` (or `https`) over keep-alive agents: the client's default. The transport's own cost
 * is part of every latency and throughput figure the client reports, so it is the thinnest layer
 * node offers rather than the global `fetch`, whose overhead is several times larger (figures in
 * apps/bench/README.md).
 *
 * An idempotent request that fails with `ECONNRESET` on a reused connection before any answer is
 * sent once more on a fresh one: node's documented remedy for the keep-alive race, in which the
 * server closed the idle connection as the request left. Any other request reports the reset, as
 * the server might have crashed while handling it, and a second trade without a key would trade
 * twice.
 */
export function nodeHttpTransport(options: { maxSocketsPerHost?: number } = {}): Transport {
  // With a timeout of its own the agent also honours the server's `Keep-Alive: timeout=N` hint,
  // letting an idle connection go a second before the server closes it: the race gets rare.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSocketsPerHost ?? Infinity, timeout: 60_000 };
  const agents: Record<string, HttpAgent> = {
    'http:': new HttpAgent(agentOptions),
    'https:': new HttpsAgent(agentOptions),
  };
  const exchange = (request: TransportRequest, retried: boolean): Promise<TransportResponse> => {
    const agent = agents[request.url.protocol];
    if (!agent) return Promise.reject(new Error(`unsupported protocol ${request.url.protocol}`));
    const send = request.url.protocol === 'https:' ? httpsRequest : httpRequest;
    if (request.signal?.aborted) return Promise.reject(new TransportAbortedError());
    let req: ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = new Promise<TransportResponse>((resolve, reject) => {
      const headers = { ...request.headers };
      if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
      req = send(request.url, { method: request.method, headers, agent }, (res: IncomingMessage) => {
        text(res).then((body) => resolve({ status: res.statusCode ?? 0, text: body }), reject);
      });
      let timedOut = false;
      let answered = false;
      req.on('response', () => (answered = true));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (request.idempotent && !retried && !timedOut && !answered && req?.reusedSocket && err.code === 'ECONNRESET') {
          resolve(exchange(request, true));
        } else {
          reject(err);
        }
      });
      timer = setTimeout(() => {
        timedOut = true;
        reject(new TransportTimeoutError(request.timeoutMs));
        req?.destroy();
      }, request.timeoutMs);
      onAbort = () => {
        reject(new TransportAbortedError());
        req?.destroy();
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      req.end(request.body);
    });
    return outcome.finally(() => {
      clearTimeout(timer);
      if (onAbort) request.signal?.removeEventListener('abort', onAbort);
    });
  };
  return (request) => exchange(request, false);
}

/** A WHATWG `fetch` (the global one, or a fake in tests) as a {@link Transport}. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export function fetchTransport(fetchImpl: FetchLike): Transport {
  return async ({ method, url, headers, body, timeoutMs, signal: abort }) => {
    if (abort?.aborted) throw new TransportAbortedError();
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetchImpl(url.toString(), { method, headers, body, signal: abort ? AbortSignal.any([abort, timeout]) : timeout });
      return { status: response.status, text: await response.text() };
    } catch (err) {
      throw abort?.aborted ? new TransportAbortedError() : err;
    }
  };
}
