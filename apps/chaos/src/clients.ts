import { BazaarClient, chance, isOrderPlaced, isOrderQueryResponse, isStockInfo, mulberry32, pick, randomIntBetween, streamSeed, type HttpOutcome } from '@app/loadgen';
import type { Outcome, ReadbackOp, ReadOp, TradeOp } from '@app/verify';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HistoryWriter } from './history';

/** Per-request timeouts: a trade may legitimately take up to the front end's failover timeout. */
export const READ_TIMEOUT_MS = 10_000;
export const TRADE_TIMEOUT_MS = 25_000;

/** A 503 that says too few replicas are reachable: refused before the catalog was asked, so a definite failure… */
const INSUFFICIENT = /replicas are reachable|insufficient/i;
/** …unless the front end adds that an earlier attempt of its own may have gone through: then the outcome is unknown, and the key is retried. */
const UNCERTAIN = /may have gone through/i;

const SPELLINGS = { buy: ['buy', 'Buy', 'BUY'], sell: ['sell', 'Sell', 'SELL'] } as const;

/** The catalog's stocks, `Stock1` … `Stock10`: every one a session may look up and trade. */
export const STOCK_COUNT = 10;

/** What a read-only session aimed at one kind of fault (the crossing reader, the outage reader) runs with. */
export interface AimedReaderOptions {
  /** Every front end, with the sessions' clients. */
  clients: SessionClients[];
  /** Its session id in the history (past the sessions'). */
  session: number;
  history: HistoryWriter;
  /** True once no new operation may start (the run's duration is over). */
  stopIssuing: () => boolean;
  signal: AbortSignal;
}

/** A front end the sessions send requests to: its process name (recorded with each request) and URL. */
export interface FrontendTarget {
  name: string;
  url: string;
}

export interface SessionsOptions {
  /** The front ends; each request goes to one at random (see {@link FrontendPicker}). */
  frontends: FrontendTarget[];
  sessions: number;
  seed: number;
  /** Prefix of every idempotency key, unique per run. */
  runId: string;
  /** Probability that a lookup is followed by a trade. */
  tradeProbability: number;
  history: HistoryWriter;
  /** True once no new operation may start (the run's duration is over). */
  stopIssuing: () => boolean;
  /** Wall-clock ms after which a trade with an unknown outcome is no longer retried. */
  retryDeadline: () => number;
  signal: AbortSignal;
}

/** The `message` of a JSON body such as `{"order_no":-1,"message":…}`, if it has one. */
function bodyMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('message' in body)) return undefined;
  return typeof body.message === 'string' ? body.message : undefined;
}

/** The history's fields for an exchange that got no HTTP answer: status 0 and the reason. */
const noAnswer = (res: Extract<HttpOutcome, { kind: 'transport' }>) => ({ outcome: 'unknown' as const, status: 0, error: res.error });

/**
 * Concurrent client sessions against the front end. Each session is sequential: look a random
 * stock up; with probability p trade it (1–10 shares, usually a trade the catalog can make, now and
 * then one it must refuse), with its own idempotency key, retried with the same key until the
 * outcome is definite. Every attempt goes into the history.
 */
export async function runSessions(o: SessionsOptions): Promise<void> {
  const clients = sessionClients(o.frontends);
  await Promise.all(Array.from({ length: o.sessions }, (_, i) => session(o, clients, i + 1)));
}

/** A client for lookups and one for trades per front end, with the sessions' timeouts. */
export function sessionClients(frontends: FrontendTarget[]): SessionClients[] {
  return frontends.map((fe) => ({
    frontend: fe.name,
    reads: new BazaarClient({ url: fe.url, timeoutMs: READ_TIMEOUT_MS }),
    // The session resends a trade itself (see `trade`), choosing the front end and recording
    // every sending in the history: the client must send each attempt once.
    trades: new BazaarClient({ url: fe.url, timeoutMs: TRADE_TIMEOUT_MS, resendUnanswered: false }),
  }));
}

/** A front end's client for lookups and the one for trades, which may take up to the failover timeout. */
export interface SessionClients {
  frontend: string;
  reads: BazaarClient;
  trades: BazaarClient;
}

/** How long a session leaves a front end alone after it gave no answer. */
const AVOID_MS = 1000;

/**
 * Picks the front end for a session's next request: at random among all (one stream per session,
 * apart from its workload's, so a run with one front end draws the same workload as before),
 * leaving out for {@link AVOID_MS} one that gave this session no answer, while there are others:
 * a client of several front ends moves on from one that is down, and tries it again later.
 */
export class FrontendPicker {
  private readonly random: () => number;
  /** Front end → until when (ms, wall clock) it is left alone. */
  private readonly avoid = new Map<string, number>();

  constructor(
    private readonly clients: SessionClients[],
    seed: number,
    session: number,
  ) {
    this.random = mulberry32(streamSeed(seed, `session-${session}-frontend`));
  }

  next(): SessionClients {
    if (this.clients.length === 1) return this.clients[0];
    const now = Date.now();
    const choices = this.clients.filter((c) => (this.avoid.get(c.frontend) ?? 0) <= now);
    return pick(this.random, choices.length > 0 ? choices : this.clients);
  }

  /** Records how the request to `frontend` went: no answer at all steers the next ones elsewhere for a while. */
  answered(frontend: string, answered: boolean): void {
    if (answered) this.avoid.delete(frontend);
    else this.avoid.set(frontend, Date.now() + AVOID_MS);
  }
}

async function session(o: SessionsOptions, clients: SessionClients[], s: number): Promise<void> {
  const random = mulberry32(streamSeed(o.seed, `session-${s}`));
  const frontends = new FrontendPicker(clients, o.seed, s);
  let n = 0;
  while (!o.stopIssuing() && !o.signal.aborted) {
    const stock_name = `Stock${randomIntBetween(random, 1, STOCK_COUNT)}`;
    const read = await lookup(o, frontends, s, stock_name);
    if (o.stopIssuing() || o.signal.aborted) break;
    if (chance(random, o.tradeProbability)) {
      const quantity = randomIntBetween(random, 1, 10);
      let type: 'buy' | 'sell' = chance(random, 0.5) ? 'buy' : 'sell';
      if (read.outcome === 'ok' && read.quantity !== undefined && chance(random, 0.9)) {
        // Usually a trade the catalog can make: buy what is there, sell what fits under capacity.
        if (read.quantity < quantity) type = 'sell';
        else if (read.quantity + quantity > 100) type = 'buy';
      }
      const key = `${o.runId}-s${s}-${++n}`;
      await trade(o, frontends, s, key, { stock_name, trade_type: pick(random, SPELLINGS[type]), quantity });
    }
    await sleep(randomIntBetween(random, 0, 10));
  }
}

async function lookup(o: SessionsOptions, frontends: FrontendPicker, session: number, stock_name: string): Promise<ReadOp> {
  const fe = frontends.next();
  const op = await lookupThrough(o.history, fe, session, stock_name);
  frontends.answered(fe.frontend, op.status !== 0);
  return op;
}

/**
 * One lookup of `stock_name` through front end `fe`, recorded in the history as session
 * `session`'s read (the sessions' and the crossing reader's alike, so every read check applies).
 */
export async function lookupThrough(history: HistoryWriter, fe: SessionClients, session: number, stock_name: string): Promise<ReadOp> {
  const id = history.newId();
  const invoke = history.now();
  const res = await fe.reads.lookup(stock_name);
  const base = { type: 'op' as const, kind: 'read' as const, id, session, frontend: fe.frontend, stock_name, invoke, complete: history.now() };
  let op: ReadOp;
  if (res.kind === 'transport') op = { ...base, ...noAnswer(res) };
  else if (res.status === 200 && isStockInfo(res.body)) op = { ...base, status: res.status, outcome: 'ok', trade_volume: res.body.trade_volume, quantity: res.body.quantity };
  else op = { ...base, status: res.status, outcome: 'fail', error: res.text.slice(0, 300) };
  history.op(op);
  return op;
}

async function trade(o: SessionsOptions, frontends: FrontendPicker, session: number, key: string, order: { stock_name: string; trade_type: string; quantity: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const fe = frontends.next();
    const op = await tradeAttempt(o, fe, session, key, attempt, order);
    frontends.answered(fe.frontend, op.status !== 0);
    if (op.outcome !== 'unknown') return;
    if (Date.now() >= o.retryDeadline() || o.signal.aborted) return;
    await sleep(Math.min(100 * attempt, 1000));
  }
}

async function tradeAttempt(
  o: SessionsOptions,
  fe: SessionClients,
  session: number,
  key: string,
  attempt: number,
  order: { stock_name: string; trade_type: string; quantity: number },
): Promise<TradeOp> {
  const id = o.history.newId();
  const invoke = o.history.now();
  const base = { type: 'op' as const, kind: 'trade' as const, id, session, frontend: fe.frontend, key, attempt, ...order, invoke };
  const res = await fe.trades.trade(order.stock_name, order.trade_type, order.quantity, key);
  const complete = o.history.now();
  let op: TradeOp;
  if (res.kind === 'transport') {
    op = { ...base, complete, ...noAnswer(res) };
  } else if (res.status === 200 && isOrderPlaced(res.body)) {
    op = { ...base, complete, outcome: 'ok', status: res.status, order_no: res.body.order_no };
  } else {
    const message = bodyMessage(res.body) ?? (res.body === undefined ? res.text.slice(0, 300) : undefined);
    let outcome: Outcome = 'unknown';
    let reason: TradeOp['reason'];
    if (res.status === 409) [outcome, reason] = ['fail', 'refused'];
    else if (res.status === 503 && INSUFFICIENT.test(message ?? '') && !UNCERTAIN.test(message ?? '')) [outcome, reason] = ['fail', 'insufficient-replicas'];
    else if (res.status === 400 || res.status === 404) [outcome, reason] = ['fail', 'rejected'];
    op = { ...base, complete, outcome, status: res.status, ...(reason ? { reason } : {}), error: message ?? res.text.slice(0, 300) };
  }
  o.history.op(op);
  return op;
}

/**
 * After the run: looks every acknowledged order number up through the front ends (`GET /orders`,
 * the front ends in turn), `concurrency` at a time, until `deadline` (wall-clock ms).
 */
export async function readBack(frontends: FrontendTarget[], history: HistoryWriter, orders: { order_no: number; key: string }[], deadline: number, concurrency = 8): Promise<void> {
  const clients = frontends.map((fe) => ({ frontend: fe.name, client: new BazaarClient({ url: fe.url, timeoutMs: READ_TIMEOUT_MS }) }));
  let next = 0;
  const worker = async () => {
    while (next < orders.length && Date.now() < deadline) {
      const n = next++;
      const { order_no, key } = orders[n];
      const { frontend, client } = clients[n % clients.length];
      const id = history.newId();
      const invoke = history.now();
      const base = { type: 'op' as const, kind: 'readback' as const, id, session: 0, frontend, order_no, key, invoke };
      const res = await client.order(order_no);
      const complete = history.now();
      let op: ReadbackOp;
      if (res.kind === 'transport') op = { ...base, complete, ...noAnswer(res) };
      else if (res.status === 200 && isOrderQueryResponse(res.body)) op = { ...base, complete, outcome: 'ok', status: 200, data: res.body.data };
      else op = { ...base, complete, outcome: res.status === 404 ? 'fail' : 'unknown', status: res.status, error: res.text.slice(0, 300) };
      history.op(op);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
