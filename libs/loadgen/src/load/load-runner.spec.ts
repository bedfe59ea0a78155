import { jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderInfo, StockInfo } from '@app/contracts';
import type { FetchLike } from '../http/bazaar-client';
import { UsageError } from '../usage-error';
import type { LoadProgress } from './load-options';
import { runLoad } from './load-runner';

interface FakeOptions {
  /** Stored trade_type for a sent one (default: kept as sent). */
  storeTradeType?: (sent: string) => string;
  /** Order numbers the fake "forgets" after acknowledging them. */
  lose?: (orderNo: number) => boolean;
  /** Status to answer a trade with instead of trading (e.g. 503), by trade count. */
  failTrade?: (n: number) => number | undefined;
  initialQuantity?: number;
  /** Trades (by trade count) made whose answer is then lost: the connection is reset. */
  dropAnswer?: (n: number) => boolean;
}

/** An in-memory bazaar behind a fake `fetch`: no network. */
function fakeBazaar(options: FakeOptions = {}) {
  const stocks = new Map<string, StockInfo>();
  for (let i = 1; i <= 10; i++) {
    stocks.set(`Stock${i}`, { stock_name: `Stock${i}`, price: 9.99 * i, trade_volume: 0, quantity: options.initialQuantity ?? 100 });
  }
  const orders = new Map<number, OrderInfo>();
  const keys = new Map<string, { status: number; body: unknown }>();
  const sentTrades: { stock_name: string; trade_type: string; quantity: number; key: string | undefined }[] = [];
  let lastNo = 0;
  let tradeCount = 0;

  const reply = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status });

  const fetchImpl: FetchLike = async (input, init) => {
    const url = new URL(input);
    if (init.method === 'GET' && url.pathname === '/stocks') {
      const s = stocks.get(url.searchParams.get('stock_name') ?? '');
      return s ? reply(200, { ...s }) : reply(404, { error: { code: 404, message: 'Stock not found' } });
    }
    if (init.method === 'POST' && url.pathname === '/orders') {
      const key = (init.headers as Record<string, string>)['idempotency-key'];
      const body = JSON.parse(String(init.body)) as { stock_name: string; trade_type: string; quantity: number };
      sentTrades.push({ ...body, key });
      // The same key gets the same outcome, as from the front end, and trades once.
      const replay = key === undefined ? undefined : keys.get(key);
      if (replay) return reply(replay.status, replay.body);
      const failStatus = options.failTrade?.(++tradeCount);
      if (failStatus !== undefined) return reply(failStatus, { order_no: -1, message: 'No order replica can take it' });
      const stock = stocks.get(body.stock_name);
      if (!stock) return reply(404, { order_no: -1, message: 'Stock not found!' });
      const buy = body.trade_type.toLowerCase() === 'buy';
      const allowed = buy ? stock.quantity >= body.quantity : stock.quantity + body.quantity <= 100;
      if (!allowed) return reply(409, { order_no: -1, message: 'Trade failed!' });
      stock.quantity += buy ? -body.quantity : body.quantity;
      stock.trade_volume += body.quantity;
      const no = ++lastNo;
      const tradeType = options.storeTradeType ? options.storeTradeType(body.trade_type) : body.trade_type;
      if (!options.lose?.(no)) orders.set(no, { order_no: no, stock_name: body.stock_name, trade_type: tradeType, quantity: body.quantity });
      const outcome = { status: 200, body: { order_no: no } };
      if (key) keys.set(key, outcome);
      if (options.dropAnswer?.(tradeCount)) throw new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
      return reply(outcome.status, outcome.body);
    }
    if (init.method === 'GET' && url.pathname === '/orders') {
      const o = orders.get(Number(url.searchParams.get('order_no')));
      return o ? reply(200, { data: o }) : reply(404, { error: { code: 404, message: 'order not found' } });
    }
    return reply(404, { error: { code: 404, message: 'no route' } });
  };
  return { fetchImpl: jest.fn(fetchImpl), stocks, orders, sentTrades };
}

describe('runLoad', () => {
  it('runs sessions × iterations lookups, trades with p = 1, and checks every order', async () => {
    const bazaar = fakeBazaar();
    const result = await runLoad({ sessions: 3, iterations: 20, p: 1, seed: 1, fetchImpl: bazaar.fetchImpl });

    expect(result.requests.lookup.count).toBe(60);
    expect(result.trades.attempted).toBe(60);
    expect(result.requests.trade.count).toBe(60);
    expect(result.trades.ok + result.trades.refused).toBe(60);
    expect(result.trades.errors).toBe(0);
    expect(result.consistency).toMatchObject({ recorded: result.trades.ok, matched: result.trades.ok, mismatches: 0, missing: 0 });
    expect(result.requests.order_check.count).toBe(result.trades.ok);
    expect(result.errors).toEqual({ total: 0, by_cause: {} });
    expect(result.iterations_completed).toBe(60);
    expect(result.passed).toBe(true);
    expect(result.interrupted).toBe(false);
    expect(result.config).toMatchObject({ url: 'http://127.0.0.1:30001', sessions: 3, p: 1, iterations: 20, duration_s: null, seed: 1 });
    expect(new Date(result.config.started_at).toISOString()).toBe(result.config.started_at);
    expect(result.requests.lookup.latency_ms.count).toBe(60);
  });

  it('sends 1–10 shares, buy or sell, with a fresh Idempotency-Key per trade', async () => {
    const bazaar = fakeBazaar();
    await runLoad({ sessions: 2, iterations: 50, p: 1, seed: 5, fetchImpl: bazaar.fetchImpl });
    const keys = bazaar.sentTrades.map((t) => t.key);
    expect(new Set(keys).size).toBe(bazaar.sentTrades.length);
    expect(keys.every((k) => typeof k === 'string' && k.length > 0)).toBe(true);
    expect(new Set(bazaar.sentTrades.map((t) => t.trade_type))).toEqual(new Set(['buy', 'sell']));
    for (const t of bazaar.sentTrades) {
      expect(t.quantity).toBeGreaterThanOrEqual(1);
      expect(t.quantity).toBeLessThanOrEqual(10);
    }
  });

  it('never trades with p = 0, nor a stock that shows no shares', async () => {
    const none = fakeBazaar();
    const r1 = await runLoad({ sessions: 2, iterations: 10, p: 0, fetchImpl: none.fetchImpl });
    expect(r1.trades.attempted).toBe(0);
    expect(r1.requests.trade.count).toBe(0);

    const soldOut = fakeBazaar({ initialQuantity: 0 });
    const r2 = await runLoad({ sessions: 2, iterations: 10, p: 1, fetchImpl: soldOut.fetchImpl });
    expect(r2.trades).toMatchObject({ attempted: 0, skipped_sold_out: 20 });
  });

  it('replays the same trades for the same seed', async () => {
    const a = fakeBazaar();
    const b = fakeBazaar();
    await runLoad({ sessions: 1, iterations: 30, p: 0.5, seed: 1234, fetchImpl: a.fetchImpl });
    await runLoad({ sessions: 1, iterations: 30, p: 0.5, seed: 1234, fetchImpl: b.fetchImpl });
    const strip = (t: { stock_name: string; trade_type: string; quantity: number }) => [t.stock_name, t.trade_type, t.quantity];
    expect(a.sentTrades.map(strip)).toEqual(b.sentTrades.map(strip));
    expect(a.sentTrades.length).toBeGreaterThan(0);
  });

  it('counts 409 refusals apart from errors, and 5xx as errors by cause', async () => {
    const bazaar = fakeBazaar({ initialQuantity: 100, failTrade: (n) => (n % 5 === 0 ? 503 : undefined) });
    const result = await runLoad({ sessions: 1, iterations: 40, p: 1, seed: 3, fetchImpl: bazaar.fetchImpl });
    expect(result.trades.errors).toBe(8);
    expect(result.requests.trade.errors).toBe(8);
    expect(result.errors.total).toBe(8);
    expect(result.errors.by_cause).toEqual({ 'trade: HTTP 503 No order replica can take it': 8 });
    // Sells of a full stock are refused: a normal outcome, not an error.
    expect(result.trades.refused).toBeGreaterThan(0);
    expect(result.passed).toBe(false);
  });

  it('records a trade whose answer was lost once: resent with its key, counted once, not as an error', async () => {
    const bazaar = fakeBazaar({ dropAnswer: (n) => n % 4 === 0 });
    const result = await runLoad({ sessions: 2, iterations: 10, p: 1, seed: 4, fetchImpl: bazaar.fetchImpl });
    const resent = bazaar.sentTrades.length - result.trades.attempted;
    expect(resent).toBeGreaterThan(0);
    expect(result.trades).toMatchObject({ attempted: 20, ok: bazaar.orders.size, errors: 0, resent });
    expect(result.requests.trade).toMatchObject({ count: 20, errors: 0 });
    expect(result.errors.total).toBe(0);
    expect(result.consistency).toMatchObject({ recorded: bazaar.orders.size, matched: bazaar.orders.size, duplicates: 0, missing: 0 });
    expect(result.passed).toBe(true);
  });

  it('finds orders stored with another spelling, and acknowledged orders that are missing', async () => {
    const bazaar = fakeBazaar({ storeTradeType: (t) => t.toUpperCase(), lose: (no) => no % 4 === 0 });
    const result = await runLoad({ sessions: 2, iterations: 25, p: 1, seed: 9, fetchImpl: bazaar.fetchImpl });
    const ok = result.trades.ok;
    const lost = Math.floor(ok / 4);
    expect(result.consistency).toMatchObject({ recorded: ok, missing: lost, mismatches: ok - lost, matched: 0 });
    expect(result.passed).toBe(false);
  });

  it('counts transport failures as errors without latency', async () => {
    const fetchImpl = jest.fn<FetchLike>(async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    });
    const result = await runLoad({ sessions: 2, iterations: 3, fetchImpl, backoff: { initialMs: 1, maxMs: 2, factor: 2 } });
    expect(result.requests.lookup).toMatchObject({ count: 6, errors: 6, throughput_rps: 0 });
    expect(result.requests.lookup.latency_ms.count).toBe(0);
    expect(result.load_total.throughput_rps).toBe(0);
    // The cause names the URL asked (without its query), so a wrong --url is plain to see.
    expect(result.errors.by_cause).toEqual({ 'lookup: ECONNREFUSED http://127.0.0.1:30001/stocks': 6 });
    expect(result.passed).toBe(false);
  });

  it('backs off after connection failures: a dead front end gets a few requests a second, not a flood', async () => {
    const fetchImpl = jest.fn<FetchLike>(async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    });
    const result = await runLoad({ url: 'http://127.0.0.1:9', sessions: 2, durationS: 0.5, fetchImpl });
    // 50 + 100 + 200 ms of waits leave room for at most a fifth request per session in 0.5 s
    // (fewer on a busy machine, whose timers fire late).
    expect(result.requests.lookup.count).toBeGreaterThanOrEqual(2);
    expect(result.requests.lookup.count).toBeLessThanOrEqual(10);
    expect(result.errors.by_cause).toEqual({ [`lookup: ECONNREFUSED http://127.0.0.1:9/stocks`]: result.requests.lookup.count });
    expect(result.backoff!.waits).toBeGreaterThanOrEqual(2);
    expect(result.backoff!.waits).toBeLessThanOrEqual(result.requests.lookup.count);
    // Never past the deadline: at most 0.5 s per session.
    expect(result.backoff!.waited_s).toBeLessThanOrEqual(1);
    expect(result.timing.load_s).toBeLessThan(3);
  });

  it('doubles the wait per failure in a row, caps it, and starts again after an answer', async () => {
    const bazaar = fakeBazaar();
    // Lookups 1–5 refused, 6 answered, 7–8 refused, then answered; p = 0: no trades.
    const refused = new Set([1, 2, 3, 4, 5, 7, 8]);
    let n = 0;
    const fetchImpl: FetchLike = async (input, init) => {
      if (refused.has(++n)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return bazaar.fetchImpl(input, init);
    };
    const result = await runLoad({ sessions: 1, iterations: 10, p: 0, fetchImpl, backoff: { initialMs: 2, maxMs: 10, factor: 2 } });
    // Waits: 2, 4, 8, 10 (capped), 10; after the answer: 2, 4.
    expect(result.backoff).toEqual({ waits: 7, waited_s: 0.04 });
    expect(result.requests.lookup).toMatchObject({ count: 10, errors: 7 });
  });

  it('counts only answered requests in req/s, errors answered with a status included', async () => {
    const bazaar = fakeBazaar({ failTrade: () => 503 });
    let n = 0;
    const fetchImpl: FetchLike = async (input, init) => {
      if (++n % 3 === 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      return bazaar.fetchImpl(input, init);
    };
    const result = await runLoad({ sessions: 1, iterations: 30, p: 1, seed: 8, fetchImpl, backoff: { initialMs: 1, maxMs: 1, factor: 1 } });
    const { lookup, trade } = result.requests;
    const answered = lookup.latency_ms.count + trade.latency_ms.count;
    expect(answered).toBeLessThan(lookup.count + trade.count);
    expect(trade.errors).toBe(trade.count); // 503 or reset: every trade failed, the 503s were answered
    expect(trade.latency_ms.count).toBeGreaterThan(0);
    const rate = (count: number) => Math.round((count / result.timing.load_s) * 100) / 100;
    expect(lookup.throughput_rps).toBe(rate(lookup.latency_ms.count));
    expect(trade.throughput_rps).toBe(rate(trade.latency_ms.count));
    expect(result.load_total.throughput_rps).toBe(rate(answered));
    expect(Object.keys(result.errors.by_cause).sort()).toEqual(
      expect.arrayContaining(['lookup: ECONNRESET http://127.0.0.1:30001/stocks', 'trade: HTTP 503 No order replica can take it']),
    );
  });

  it('runs for a duration and reports progress through load, check and done', async () => {
    const bazaar = fakeBazaar();
    const slowFetch: FetchLike = async (input, init) => {
      await sleep(2);
      return bazaar.fetchImpl(input, init);
    };
    const phases: LoadProgress['phase'][] = [];
    const result = await runLoad({
      sessions: 2,
      durationS: 0.2,
      p: 0.5,
      fetchImpl: slowFetch,
      progressIntervalMs: 20,
      onProgress: (p) => phases.push(p.phase),
    });
    expect(result.config.duration_s).toBe(0.2);
    expect(result.config.iterations).toBeNull();
    expect(result.timing.load_s).toBeGreaterThanOrEqual(0.2);
    expect(result.timing.load_s).toBeLessThan(1);
    expect(result.iterations_completed).toBeGreaterThan(0);
    expect(result.interrupted).toBe(false);
    expect(phases[0]).toBe('load');
    expect(phases).toContain('check');
    expect(phases[phases.length - 1]).toBe('done');
  });

  it('stops early when aborted, still checks the orders, and says it was interrupted', async () => {
    const bazaar = fakeBazaar();
    const controller = new AbortController();
    let calls = 0;
    const fetchImpl: FetchLike = async (input, init) => {
      if (++calls === 30) controller.abort();
      return bazaar.fetchImpl(input, init);
    };
    const result = await runLoad({ sessions: 1, iterations: 1000, p: 1, fetchImpl, signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.iterations_completed).toBeLessThan(1000);
    expect(result.consistency.recorded).toBe(result.trades.ok);
    expect(result.consistency.matched).toBe(result.trades.ok);
  });

  it('keeps no samples unless asked to', async () => {
    const result = await runLoad({ sessions: 1, iterations: 5, p: 1, seed: 2, fetchImpl: fakeBazaar().fetchImpl });
    expect(result).not.toHaveProperty('samples');
  });

  it('with recordSamples, keeps one sample per request: type, send time, latency, status, outcome', async () => {
    const bazaar = fakeBazaar({ failTrade: (n) => (n === 3 ? 503 : undefined), lose: (no) => no === 2 });
    const before = Date.now();
    const result = await runLoad({ sessions: 2, iterations: 30, p: 1, seed: 4, fetchImpl: bazaar.fetchImpl, recordSamples: true });
    const after = Date.now();
    const samples = result.samples!;
    const ofType = (type: string) => samples.filter((s) => s.type === type);

    expect(samples).toHaveLength(result.requests.lookup.count + result.requests.trade.count + result.requests.order_check.count);
    expect(ofType('lookup')).toHaveLength(60);
    expect(ofType('trade')).toHaveLength(result.trades.attempted);
    expect(ofType('order_check')).toHaveLength(result.trades.ok);
    expect(ofType('trade').filter((s) => s.outcome === 'ok')).toHaveLength(result.trades.ok);
    expect(ofType('trade').filter((s) => s.outcome === 'refused')).toHaveLength(result.trades.refused);
    expect(ofType('trade').filter((s) => s.outcome === 'error')).toEqual([expect.objectContaining({ status: 503 })]);
    expect(ofType('order_check').filter((s) => s.outcome === 'missing')).toEqual([expect.objectContaining({ status: 404 })]);
    for (const s of samples) {
      expect(s.sent_at_ms).toBeGreaterThanOrEqual(before - 1);
      expect(s.sent_at_ms + s.latency_ms).toBeLessThanOrEqual(after + 1);
      expect(s.latency_ms).toBeGreaterThanOrEqual(0);
    }
    // The order checks come after the load phase.
    const lastLoad = Math.max(...samples.filter((s) => s.type !== 'order_check').map((s) => s.sent_at_ms));
    expect(Math.min(...ofType('order_check').map((s) => s.sent_at_ms))).toBeGreaterThanOrEqual(lastLoad);
  });

  it('samples transport failures with a null status', async () => {
    const fetchImpl = jest.fn<FetchLike>(async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNRESET' }) });
    });
    const result = await runLoad({ sessions: 1, iterations: 2, fetchImpl, recordSamples: true });
    expect(result.samples).toEqual([
      expect.objectContaining({ type: 'lookup', status: null, outcome: 'error' }),
      expect.objectContaining({ type: 'lookup', status: null, outcome: 'error' }),
    ]);
  });

  it('rejects invalid options before sending anything', async () => {
    const bazaar = fakeBazaar();
    await expect(runLoad({ p: 1.5, fetchImpl: bazaar.fetchImpl })).rejects.toThrow(UsageError);
    await expect(runLoad({ iterations: 5, durationS: 5, fetchImpl: bazaar.fetchImpl })).rejects.toThrow(/cannot be used together/);
    expect(bazaar.fetchImpl).not.toHaveBeenCalled();
  });
});
