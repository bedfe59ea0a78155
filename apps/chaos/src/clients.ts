import { http } from '@app/testkit';
import { HistoryWriter, Outcome, ReadbackOp, ReadOp, TradeOp } from './history';
import { Rng } from './rng';
import { setTimeout as sleep } from 'node:timers/promises';

/** Per-request timeouts: a trade may legitimately take up to the front end's failover timeout. */
export const READ_TIMEOUT_MS = 10_000;
export const TRADE_TIMEOUT_MS = 25_000;

/** A 503 that says too few replicas are reachable: refused before the catalog was asked, so a definite failure. */
const INSUFFICIENT = /replicas are reachable|insufficient/i;

const SPELLINGS = { buy: ['buy', 'Buy', 'BUY'], sell: ['sell', 'Sell', 'SELL'] } as const;

export interface SessionsOptions {
  frontend: string;
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


const errorText = (e: unknown) => {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
};

/**
 * Concurrent client sessions against the front end. Each session is sequential: look a random
 * stock up; with probability p trade it (1–10 shares, usually a trade the catalog can make, now and
 * then one it must refuse), with its own idempotency key, retried with the same key until the
 * outcome is definite. Every attempt goes into the history.
 */
export async function runSessions(o: SessionsOptions): Promise<void> {
  await Promise.all(Array.from({ length: o.sessions }, (_, i) => session(o, i + 1)));
}

async function session(o: SessionsOptions, s: number): Promise<void> {
  const rng = new Rng(o.seed, `session-${s}`);
  let n = 0;
  while (!o.stopIssuing() && !o.signal.aborted) {
    const stock_name = `Stock${rng.int(1, 10)}`;
    const read = await lookup(o, s, stock_name);
    if (o.stopIssuing() || o.signal.aborted) break;
    if (rng.chance(o.tradeProbability)) {
      const quantity = rng.int(1, 10);
      let type: 'buy' | 'sell' = rng.chance(0.5) ? 'buy' : 'sell';
      if (read.outcome === 'ok' && read.quantity !== undefined && rng.chance(0.9)) {
        // Usually a trade the catalog can make: buy what is there, sell what fits under capacity.
        if (read.quantity < quantity) type = 'sell';
        else if (read.quantity + quantity > 100) type = 'buy';
      }
      const key = `${o.runId}-s${s}-${++n}`;
      await trade(o, s, key, { stock_name, trade_type: rng.pick(SPELLINGS[type]), quantity });
    }
    await sleep(rng.int(0, 10));
  }
}

async function lookup(o: SessionsOptions, session: number, stock_name: string): Promise<ReadOp> {
  const id = o.history.newId();
  const invoke = o.history.now();
  let op: ReadOp;
  try {
    const res = await http(`${o.frontend}/stocks?stock_name=${stock_name}`, { timeoutMs: READ_TIMEOUT_MS });
    const base = { type: 'op' as const, kind: 'read' as const, id, session, stock_name, invoke, complete: o.history.now(), status: res.status };
    if (res.status === 200 && typeof res.body?.trade_volume === 'number') {
      op = { ...base, outcome: 'ok', trade_volume: res.body.trade_volume, quantity: res.body.quantity };
    } else {
      op = { ...base, outcome: 'fail', error: res.text.slice(0, 300) };
    }
  } catch (e) {
    op = { type: 'op', kind: 'read', id, session, stock_name, invoke, complete: o.history.now(), outcome: 'unknown', status: 0, error: errorText(e) };
  }
  o.history.op(op);
  return op;
}

async function trade(o: SessionsOptions, session: number, key: string, order: { stock_name: string; trade_type: string; quantity: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const op = await tradeAttempt(o, session, key, attempt, order);
    if (op.outcome !== 'unknown') return;
    if (Date.now() >= o.retryDeadline() || o.signal.aborted) return;
    await sleep(Math.min(100 * attempt, 1000));
  }
}

async function tradeAttempt(
  o: SessionsOptions,
  session: number,
  key: string,
  attempt: number,
  order: { stock_name: string; trade_type: string; quantity: number },
): Promise<TradeOp> {
  const id = o.history.newId();
  const invoke = o.history.now();
  const base = { type: 'op' as const, kind: 'trade' as const, id, session, key, attempt, ...order, invoke };
  let op: TradeOp;
  try {
    const res = await http(`${o.frontend}/orders`, { body: order, headers: { 'Idempotency-Key': key }, timeoutMs: TRADE_TIMEOUT_MS });
    const complete = o.history.now();
    const message: string | undefined = res.body?.message ?? (res.body === undefined ? res.text.slice(0, 300) : undefined);
    let outcome: Outcome = 'unknown';
    let reason: TradeOp['reason'];
    if (res.status === 200 && Number.isInteger(res.body?.order_no) && res.body.order_no >= 1) outcome = 'ok';
    else if (res.status === 409) [outcome, reason] = ['fail', 'refused'];
    else if (res.status === 503 && INSUFFICIENT.test(message ?? '')) [outcome, reason] = ['fail', 'insufficient-replicas'];
    else if (res.status === 400 || res.status === 404) [outcome, reason] = ['fail', 'rejected'];
    op =
      outcome === 'ok'
        ? { ...base, complete, outcome, status: res.status, order_no: res.body.order_no }
        : { ...base, complete, outcome, status: res.status, ...(reason ? { reason } : {}), error: message ?? res.text.slice(0, 300) };
  } catch (e) {
    op = { ...base, complete: o.history.now(), outcome: 'unknown', status: 0, error: errorText(e) };
  }
  o.history.op(op);
  return op;
}

/**
 * After the run: looks every acknowledged order number up through the front end (`GET /orders`),
 * `concurrency` at a time, until `deadline` (wall-clock ms).
 */
export async function readBack(frontend: string, history: HistoryWriter, orders: { order_no: number; key: string }[], deadline: number, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < orders.length && Date.now() < deadline) {
      const { order_no, key } = orders[next++];
      const id = history.newId();
      const invoke = history.now();
      const base = { type: 'op' as const, kind: 'readback' as const, id, session: 0, order_no, key, invoke };
      let op: ReadbackOp;
      try {
        const res = await http(`${frontend}/orders?order_no=${order_no}`, { timeoutMs: READ_TIMEOUT_MS });
        const complete = history.now();
        if (res.status === 200 && res.body?.data) op = { ...base, complete, outcome: 'ok', status: 200, data: res.body.data };
        else op = { ...base, complete, outcome: res.status === 404 ? 'fail' : 'unknown', status: res.status, error: res.text.slice(0, 300) };
      } catch (e) {
        op = { ...base, complete: history.now(), outcome: 'unknown', status: 0, error: errorText(e) };
      }
      history.op(op);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
