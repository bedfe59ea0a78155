import { randomUUID } from 'node:crypto';
import { BazaarClient, type HttpOutcome, type RequestType } from '../http/bazaar-client';
import { errorMessage, isOrderPlaced, isOrderQueryResponse, isStockInfo } from '../http/response-guards';
import { LatencyStats } from '../stats/latency-stats';
import { Backoff, pause } from './backoff';
import { checkConsistency, OrderLedger, type OrderReadBack } from './consistency';
import { LOAD_LIMITS, resolveLoadOptions, type LoadOptions, type LoadProgress, type ResolvedLoadOptions } from './load-options';
import type { LoadResult, RequestSample, RequestStats } from './load-result';
import { deriveSeed, mulberry32, pick, randomIntBetween, type Random } from './prng';

/** Distinct error causes kept by name; any further ones are counted under `other`. */
const MAX_ERROR_CAUSES = 50;
const HTTP_STATUS_CONFLICT = 409;
const HTTP_STATUS_NOT_FOUND = 404;

/** Counts and latencies of one request type, while the run goes on. */
class RequestTally {
  count = 0;
  errors = 0;
  readonly latency = new LatencyStats();

  /** Counts a request and records its latency when it got an HTTP response. */
  observe(outcome: HttpOutcome): void {
    this.count++;
    if (outcome.kind === 'response') this.latency.recordMicros(outcome.latencyUs);
  }

  /** Requests that got an HTTP response, whatever its status. */
  get answered(): number {
    return this.latency.count;
  }

  stats(seconds: number): RequestStats {
    return { count: this.count, errors: this.errors, latency_ms: this.latency.summary(), throughput_rps: rate(this.answered, seconds) };
  }
}

/** Milliseconds since the Unix epoch, with sub-millisecond precision. */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? Math.round((count / seconds) * 100) / 100 : 0;
}

function seconds(fromNs: bigint, toNs: bigint): number {
  return Math.round(Number(toNs - fromNs) / 1e6) / 1000;
}

/** `HTTP 503 No order replica…`, or the transport error and the URL asked (`ECONNREFUSED http://…/stocks`), as an error cause. */
function describeFailure(outcome: HttpOutcome): string {
  if (outcome.kind === 'transport') return `${outcome.error} ${outcome.url}`;
  const message = errorMessage(outcome.body);
  if (outcome.status >= 200 && outcome.status < 300) return `HTTP ${outcome.status} with an unexpected body`;
  return message === undefined ? `HTTP ${outcome.status}` : `HTTP ${outcome.status} ${truncate(message, 80)}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `buy` → `Buy`, `BUY`, `bUy`…: letter case chosen at random per letter. */
function randomCase(word: string, random: Random): string {
  return [...word].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join('');
}

/**
 * One load run against the front end: `sessions` concurrent sessions, each repeating
 * "look up a random stock; if it has shares, trade it with probability p (buy or sell at
 * random, 1–10 shares, own Idempotency-Key)", for a number of iterations per session or a
 * duration. Every acknowledged order is recorded and, once the sessions are done, read back
 * and compared with what was sent.
 *
 * Throws a `UsageError` for invalid options before sending anything; never throws for
 * request failures, which are counted in the result.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const opts = resolveLoadOptions(options);
  return new LoadRun(opts).run();
}

class LoadRun {
  private readonly client: BazaarClient;
  private readonly tallies: Record<RequestType, RequestTally> = {
    lookup: new RequestTally(),
    trade: new RequestTally(),
    order_check: new RequestTally(),
  };
  private readonly trades = { attempted: 0, ok: 0, refused: 0, errors: 0, resent: 0, skipped_sold_out: 0 };
  private readonly errorCauses = new Map<string, number>();
  /** Waits after connection failures (see {@link Backoff}). */
  private readonly backoff = { waits: 0, waited_ms: 0 };
  private readonly ledger = new OrderLedger();
  private iterationsDone = 0;
  private checked = 0;
  private phase: LoadProgress['phase'] = 'load';
  private loadStartNs = 0n;
  /** One entry per request when `recordSamples` is on, else null. */
  private readonly samples: RequestSample[] | null;

  constructor(private readonly opts: ResolvedLoadOptions) {
    this.client = new BazaarClient({ url: opts.url, timeoutMs: opts.timeoutMs, fetchImpl: opts.fetchImpl });
    this.samples = opts.recordSamples ? [] : null;
  }

  async run(): Promise<LoadResult> {
    const { opts } = this;
    const startedAt = new Date();
    this.loadStartNs = process.hrtime.bigint();
    const deadlineNs = opts.durationS === null ? null : this.loadStartNs + BigInt(Math.round(opts.durationS * 1e9));
    const ticker = opts.onProgress ? setInterval(() => this.report(), opts.progressIntervalMs) : undefined;
    ticker?.unref();

    try {
      this.report();
      await Promise.all(
        Array.from({ length: opts.sessions }, (_, i) => this.session(i, mulberry32(deriveSeed(opts.seed, i)), deadlineNs)),
      );
      const loadEndNs = process.hrtime.bigint();
      const interrupted = opts.signal?.aborted === true && !this.finishedNaturally(loadEndNs, deadlineNs);

      this.phase = 'check';
      this.report();
      const consistency = await checkConsistency(this.ledger, (orderNo) => this.readBack(orderNo), {
        concurrency: opts.checkConcurrency,
        maxDetails: opts.maxProblemDetails,
        onChecked: (done) => (this.checked = done),
      });
      const endNs = process.hrtime.bigint();
      this.phase = 'done';
      this.report();

      const loadS = seconds(this.loadStartNs, loadEndNs);
      const checkS = seconds(loadEndNs, endNs);
      const loadTotal = LatencyStats.merge(this.tallies.lookup.latency, this.tallies.trade.latency);
      const loadCount = this.tallies.lookup.count + this.tallies.trade.count;
      const loadAnswered = this.tallies.lookup.answered + this.tallies.trade.answered;
      const loadErrors = this.tallies.lookup.errors + this.tallies.trade.errors;
      const errorsTotal = loadErrors + this.tallies.order_check.errors;

      const result: LoadResult = {
        version: 1,
        config: {
          url: opts.url,
          sessions: opts.sessions,
          p: opts.p,
          iterations: opts.iterations,
          duration_s: opts.durationS,
          seed: opts.seed,
          timeout_ms: opts.timeoutMs,
          mixed_case: opts.mixedCase,
          stocks: [...opts.stocks],
          started_at: startedAt.toISOString(),
        },
        requests: {
          lookup: this.tallies.lookup.stats(loadS),
          trade: this.tallies.trade.stats(loadS),
          order_check: this.tallies.order_check.stats(checkS),
        },
        load_total: { count: loadCount, errors: loadErrors, latency_ms: loadTotal.summary(), throughput_rps: rate(loadAnswered, loadS) },
        trades: { ...this.trades },
        backoff: { waits: this.backoff.waits, waited_s: Math.round(this.backoff.waited_ms) / 1000 },
        consistency,
        errors: { total: errorsTotal, by_cause: Object.fromEntries(this.errorCauses) },
        iterations_completed: this.iterationsDone,
        interrupted,
        timing: { finished_at: new Date().toISOString(), load_s: loadS, check_s: checkS, wall_s: seconds(this.loadStartNs, endNs) },
        passed: errorsTotal === 0 && consistency.mismatches === 0 && consistency.missing === 0,
      };
      if (this.samples) result.samples = this.samples;
      return result;
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }

  /** A run that had completed all its work is not "interrupted" just because the signal fired late. */
  private finishedNaturally(loadEndNs: bigint, deadlineNs: bigint | null): boolean {
    if (deadlineNs !== null) return loadEndNs >= deadlineNs;
    return this.iterationsDone >= this.opts.sessions * (this.opts.iterations ?? 0);
  }

  /**
   * One session: iterations one after the other. After a request that got no answer at all
   * (connection refused or reset, timeout) the session waits before its next iteration, longer
   * after each such failure in a row ({@link Backoff}): a dead or restarting front end is asked a
   * few times a second, not hammered by a loop that measures nothing.
   */
  private async session(index: number, random: Random, deadlineNs: bigint | null): Promise<void> {
    const { opts } = this;
    const backoff = new Backoff(opts.backoff);
    for (let i = 0; ; i++) {
      if (opts.signal?.aborted) return;
      if (deadlineNs === null ? i >= (opts.iterations ?? 0) : process.hrtime.bigint() >= deadlineNs) return;
      const waitMs = await this.iteration(index, random, backoff);
      this.iterationsDone++;
      if (waitMs > 0 && (await this.wait(waitMs, deadlineNs, i + 1 >= (opts.iterations ?? Infinity)))) return;
    }
  }

  /**
   * Waits `ms` after a connection failure, but not past the deadline, nor after the last
   * iteration. Resolves true when the wait ran to the deadline: the session is over (a timer may
   * fire a fraction of a millisecond early, so the clock is not asked again).
   */
  private async wait(ms: number, deadlineNs: bigint | null, last: boolean): Promise<boolean> {
    if (last) return false;
    const remainingMs = deadlineNs === null ? ms : Number(deadlineNs - process.hrtime.bigint()) / 1e6;
    const waitMs = Math.min(ms, remainingMs);
    if (waitMs <= 0 || this.opts.signal?.aborted) return waitMs <= 0;
    this.backoff.waits++;
    this.backoff.waited_ms += waitMs;
    await pause(waitMs, this.opts.signal);
    return deadlineNs !== null && remainingMs <= ms;
  }

  /** Records whether a request was answered; returns the backoff to wait (ms) when it was not. */
  private settle(backoff: Backoff, outcome: HttpOutcome): number {
    if (outcome.kind === 'transport') return backoff.fail();
    backoff.succeed();
    return 0;
  }

  /** One iteration; resolves to how long the session should wait before the next (0: at once). */
  private async iteration(session: number, random: Random, backoff: Backoff): Promise<number> {
    const stock = pick(random, this.opts.stocks);
    const lookupSentAt = this.samples ? epochMs() : 0;
    const lookup = await this.client.lookup(stock);
    this.tallies.lookup.observe(lookup);
    const lookupWait = this.settle(backoff, lookup);
    if (lookup.kind !== 'response' || lookup.status !== 200 || !isStockInfo(lookup.body)) {
      this.sample('lookup', lookupSentAt, lookup, 'error');
      this.fail('lookup', lookup);
      return lookupWait;
    }
    this.sample('lookup', lookupSentAt, lookup, 'ok');
    if (lookup.body.quantity <= 0) {
      this.trades.skipped_sold_out++;
      return 0;
    }
    if (!(random() < this.opts.p)) return 0;

    const side = random() < 0.5 ? 'buy' : 'sell';
    const tradeType = this.opts.mixedCase ? randomCase(side, random) : side;
    const quantity = randomIntBetween(random, 1, LOAD_LIMITS.maxTradeQuantity);
    // Keys are unique across runs (not drawn from the seeded PRNG): replaying a seed must not
    // replay an earlier run's keys, which would return that run's outcomes.
    const key = randomUUID();
    this.trades.attempted++;
    const tradeSentAt = this.samples ? epochMs() : 0;
    // The client resends a trade that got no answer with its key (see BazaarClient): the last
    // answer is the trade's one outcome, recorded once; the resending is counted apart.
    const trade = await this.client.trade(stock, tradeType, quantity, key);
    this.tallies.trade.observe(trade);
    if (trade.attempts > 1) this.trades.resent++;
    const tradeWait = this.settle(backoff, trade);
    if (trade.kind === 'response' && trade.status === 200 && isOrderPlaced(trade.body)) {
      this.sample('trade', tradeSentAt, trade, 'ok');
      this.trades.ok++;
      this.ledger.record(trade.body.order_no, { stock_name: stock, trade_type: tradeType, quantity, idempotency_key: key, session });
    } else if (trade.kind === 'response' && trade.status === HTTP_STATUS_CONFLICT) {
      this.sample('trade', tradeSentAt, trade, 'refused');
      this.trades.refused++;
    } else {
      this.sample('trade', tradeSentAt, trade, 'error');
      this.trades.errors++;
      this.fail('trade', trade);
    }
    return tradeWait;
  }

  private async readBack(orderNo: number): Promise<OrderReadBack> {
    const sentAt = this.samples ? epochMs() : 0;
    const outcome = await this.client.order(orderNo);
    this.tallies.order_check.observe(outcome);
    if (outcome.kind === 'response' && outcome.status === 200 && isOrderQueryResponse(outcome.body)) {
      this.sample('order_check', sentAt, outcome, 'ok');
      return { kind: 'found', order: outcome.body.data };
    }
    if (outcome.kind === 'response' && outcome.status === HTTP_STATUS_NOT_FOUND) {
      this.sample('order_check', sentAt, outcome, 'missing');
      return { kind: 'missing' };
    }
    this.sample('order_check', sentAt, outcome, 'error');
    this.fail('order_check', outcome);
    return { kind: 'error', reason: describeFailure(outcome) };
  }

  /** Keeps one request's timing when samples are recorded. */
  private sample(type: RequestType, sentAtMs: number, outcome: HttpOutcome, result: RequestSample['outcome']): void {
    if (!this.samples) return;
    this.samples.push({
      type,
      sent_at_ms: Math.round(sentAtMs * 1000) / 1000,
      latency_ms: Math.round(outcome.latencyUs) / 1000,
      status: outcome.kind === 'response' ? outcome.status : null,
      outcome: result,
    });
  }

  private fail(type: RequestType, outcome: HttpOutcome): void {
    this.tallies[type].errors++;
    let cause = `${type}: ${describeFailure(outcome)}`;
    if (!this.errorCauses.has(cause) && this.errorCauses.size >= MAX_ERROR_CAUSES) cause = `${type}: other`;
    this.errorCauses.set(cause, (this.errorCauses.get(cause) ?? 0) + 1);
  }

  private report(): void {
    const { opts } = this;
    if (!opts.onProgress) return;
    const t = this.tallies;
    opts.onProgress({
      phase: this.phase,
      elapsed_s: seconds(this.loadStartNs, process.hrtime.bigint()),
      iterations_done: this.iterationsDone,
      iterations_total: opts.iterations === null ? null : opts.iterations * opts.sessions,
      duration_s: opts.durationS,
      requests: t.lookup.count + t.trade.count + t.order_check.count,
      answered: t.lookup.answered + t.trade.answered + t.order_check.answered,
      errors: t.lookup.errors + t.trade.errors + t.order_check.errors,
      orders: this.ledger.size,
      checked: this.checked,
      to_check: this.ledger.size,
    });
  }
}
