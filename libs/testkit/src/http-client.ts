// The routes module and types only: the contracts' DTOs load NestJS, which the e2e suites never do.
import { CLUSTER_TOKEN_HEADER, FrontendRoutes, IDEMPOTENCY_KEY_HEADER, OrderRoutes } from '@app/contracts/routes';
import type { LeaderResponse, MessageResponse, OrderPlacedResponse, ReplicaStatus } from '@app/contracts/responses';
import { sleep } from './timers';

/** Header of the cluster token (the apps' own). */
export const TOKEN_HEADER = CLUSTER_TOKEN_HEADER;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the caller
export interface HttpResult<T = any> {
  status: number;
  body: T;
  text: string;
}

/** What one request may say besides its URL: the method defaults to POST when there is a body. */
export interface HttpInit {
  method?: string;
  /** Sent as it is when a string, as JSON when an object. */
  body?: string | object;
  headers?: Record<string, string>;
  /** Aborts the request after this long (default 30 s). */
  timeoutMs?: number;
}

/** One HTTP request; never throws on a status, only on transport failure. The body is parsed when it is JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see HttpResult
export async function http<T = any>(url: string, init: HttpInit = {}): Promise<HttpResult<T>> {
  const body = typeof init.body === 'object' ? JSON.stringify(init.body) : init.body;
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    body,
    headers: init.headers,
    signal: AbortSignal.timeout(init.timeoutMs ?? 30000),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, text };
}

/** The headers an internal request carries: the cluster token, unless the cluster runs without one (''). */
export function tokenHeaders(token: string): Record<string, string> {
  return token ? { [TOKEN_HEADER]: token } : {};
}

/** A request to an internal endpoint (catalog, replica, the front end's /rm): {@link http} with the cluster token. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see HttpResult
export function internal<T = any>(token: string, url: string, init: HttpInit = {}): Promise<HttpResult<T>> {
  return http<T>(url, { ...init, headers: { ...tokenHeaders(token), ...init.headers } });
}

/** A process the harness was waiting for exited instead: {@link waitFor} gives up at once on it. */
export class ExitedEarly extends Error {
  constructor(name: string, logTail: string) {
    super(`${name} exited while starting:\n${logTail}`);
  }
}

/**
 * Polls `check` every 50 ms until it returns a truthy value or `timeoutMs` passes (then throws
 * `what`, with the last error `check` threw). An {@link ExitedEarly} ends the wait at once.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e instanceof ExitedEarly) throw e;
      lastError = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (${String(lastError)})` : ''}`);
}

/** The order in a `POST /orders`; the quantity may be a string, as a form would send it. */
export interface TradeOrder {
  stock_name: string;
  trade_type: string;
  quantity: number | string;
}

/** `POST /orders` on the front end, once; with `key` as its idempotency key when given. */
export function placeOrder(frontend: string, order: TradeOrder, key?: string): Promise<HttpResult<OrderPlacedResponse & Partial<MessageResponse>>> {
  return http(`${frontend}/${FrontendRoutes.orders}`, { body: order, headers: key ? { [IDEMPOTENCY_KEY_HEADER]: key } : {} });
}

/** The front end's `GET /leader`: the replica it names and that replica's epoch. */
export function namedLeader(frontend: string, timeoutMs?: number): Promise<HttpResult<LeaderResponse>> {
  return http<LeaderResponse>(`${frontend}/${FrontendRoutes.leader}`, { timeoutMs });
}

/** A replica's `GET /replication/status` (an internal endpoint). */
export function replicaStatus(token: string, replica: string, timeoutMs?: number): Promise<HttpResult<ReplicaStatus>> {
  return internal<ReplicaStatus>(token, `${replica}/${OrderRoutes.status}`, { timeoutMs });
}

/**
 * Requests to `route` (as the request metrics label it, e.g. `/sync`) that a server answered with
 * `status`, from its `GET /metrics`.
 */
export async function requestsAnswered(server: string, route: string, status = 200): Promise<number> {
  const res = await http(`${server}/metrics`);
  if (res.status !== 200) throw new Error(`${server}/metrics answered ${res.status}`);
  const line = res.text
    .split('\n')
    .find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes(`route="${route}"`) && l.includes(`status="${status}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}
