import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { BatchItemResult, CatalogMessages, FrontendEnv, KEY_REUSED_STATUS, keyReusedMessage, OrderInfo, PlaceOrderDto, REFUSED_BEFORE_TRADING, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { definiteRefusal, DomainError, monotonicNow, OrderNotFound, Unavailable } from '@app/common';
import { Leader, LeaderElectionService } from '../leader/leader-election.service';
import { ReplicasClient } from '../leader/replicas.client';
import { StocksService } from '../stocks/stocks.service';
import { setTimeout as sleep } from 'node:timers/promises';

const RETRY_PAUSE_MS = 50;
/** No leader could be elected: the next attempt waits for a replica to come up. */
const NO_LEADER_PAUSE_MS = 4 * RETRY_PAUSE_MS;

/** What {@link OrdersService.place} does after an answer of the leader that is neither a success nor definite. */
interface RetryRule {
  pauseMs: number;
  /** Ask the same leader again (what it lacks may come back: a replica, the catalog) instead of electing again. */
  sameLeader: boolean;
  /**
   * Give up `QUORUM_WAIT_MS` after that leader's (id and epoch) first such answer instead of at
   * `FAILOVER_TIMEOUT_MS`: the cluster cannot make a trade durable now.
   */
  quorumBound?: boolean;
}

/** By the refusal's code; the same key is sent every time. */
const RETRY_RULES: Partial<Record<string, RetryRule>> = {
  [ReplicaRefusal.insufficientReplicas]: { pauseMs: 2 * RETRY_PAUSE_MS, sameLeader: true, quorumBound: true },
  [ReplicaRefusal.notDurable]: { pauseMs: RETRY_PAUSE_MS, sameLeader: true },
  [ReplicaRefusal.catalogUnavailable]: { pauseMs: RETRY_PAUSE_MS, sameLeader: true },
};
/** What a forward resolves with when another leader was named while it was under way. */
const REPLACED = Symbol('replaced');

/** Any other answer (not the leader any more, not ready, a 500, a 503 without a code): elect again, at once. */
const REELECT: RetryRule = { pauseMs: 0, sameLeader: false };

/** The definite refusals a trade passes on to the client. */
const ORDER_REFUSALS = { notFound: CatalogMessages.stockNotFound, refused: CatalogMessages.tradeFailed, invalid: 'invalid order' };

/** An order lookup asks the other replicas too once the leader has not answered for this long. */
export const LOOKUP_HEDGE_MS = 200;
/** A replica that could not vouch for an order is asked again after this long. */
export const LOOKUP_RETRY_MS = 100;

/**
 * Forwards trades and order lookups to the leader, hiding failovers from clients.
 *
 * A trade carries an idempotency key end to end (the client's, or one made here), so when a
 * forward fails — connection refused, timeout, 503, stale epoch — the front end re-elects at once
 * and sends the *same* request to the new leader; the catalog and the log see it at most once.
 * So it does as soon as the heartbeat names another leader while a forward is under way (the old
 * one stopped answering its pings): a link that drops packets does not hold the trade for
 * `FORWARD_TIMEOUT_MS`.
 * Retrying stops at `FAILOVER_TIMEOUT_MS`, or `QUORUM_WAIT_MS` after a leader first answered that
 * the cluster cannot make a trade durable (too few replicas), with a 503.
 *
 * An answer that is not definite — no answer at all (refused, reset, timeout), a 500, or a 503
 * from after the leader may have traded (not durable, catalog unreachable, lost leadership) — counts
 * as "may have gone through": the retry uses the same key, and a 503 at the end says so (the key
 * is in the answer's `Idempotency-Key` header). A 422 (the key names another trade) is definite.
 */
@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);
  private readonly failoverTimeoutMs: number;
  private readonly quorumWaitMs: number;
  /** Longest an order lookup looks for a replica that can vouch for the order (FORWARD_TIMEOUT_MS). */
  private readonly lookupWaitMs: number;

  constructor(
    private readonly election: LeaderElectionService,
    private readonly replicas: ReplicasClient,
    private readonly stocks: StocksService,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.failoverTimeoutMs = config.get('FAILOVER_TIMEOUT_MS', { infer: true });
    this.quorumWaitMs = config.get('QUORUM_WAIT_MS', { infer: true });
    this.lookupWaitMs = config.get('FORWARD_TIMEOUT_MS', { infer: true });
  }

  /** `requestId`: the HTTP request's, carried to the leader with the trade (`key` is its idempotency key). */
  async place(dto: PlaceOrderDto, key: string, requestId?: string): Promise<number> {
    const started = monotonicNow();
    const deadline = started + this.failoverTimeoutMs;
    let lastProblem = 'no order replica is alive';
    /** Set once an attempt ended without a definite answer: it may have traded. */
    let uncertain = false;
    /**
     * Which leader first answered that too few replicas are reachable, and when. The wait runs from
     * there, not from the trade's start: a trade that first waited out the durability timeout at a
     * leader just cut off from its followers would otherwise be refused at that first answer, as the
     * front end is about to elect a leader on the majority side. It starts again at another leader
     * (or the same one in a newer epoch): that one's count is its own.
     */
    let quorumLack: { leader: Leader; since: number } | undefined;
    const unavailable = (message: string) =>
      new Unavailable(
        uncertain ? `${message}; an earlier attempt may have gone through: retry with the same Idempotency-Key to learn its outcome` : message,
      );
    while (monotonicNow() < deadline) {
      const leader = await this.election.leaderForRequest();
      if (!leader) {
        lastProblem = this.election.noLeaderReason();
        await sleep(NO_LEADER_PAUSE_MS);
        continue;
      }
      let res;
      try {
        res = await this.forward(leader, dto, key, requestId);
      } catch (err) {
        lastProblem = `leader ${leader.id} unreachable: ${(err as Error).message}`;
        uncertain = true;
        await this.election.reportFailure(leader, lastProblem);
        continue;
      }
      if (res === REPLACED) {
        // The heartbeat elected another leader while this forward was under way (the old one
        // stopped answering its pings): the trade goes there now, with its key, instead of
        // waiting out FORWARD_TIMEOUT_MS. Whatever the old leader still does with it, the new
        // leader finds it by its key (catch-up from a majority) or makes it anew, never twice.
        lastProblem = `leader ${leader.id} of epoch ${leader.epoch} was replaced while the trade was under way`;
        uncertain = true;
        continue;
      }
      if (res.status === 200) {
        // The trade's stock as the catalog committed it: cached, the lookup that often follows is a hit.
        if (res.stock?.stock_name === dto.stock_name) this.stocks.learnFromTrade(res.stock);
        return res.order_no as number;
      }
      const definite = definiteRefusal(res.status, res, ORDER_REFUSALS) ?? (res.status === KEY_REUSED_STATUS ? new DomainError(KEY_REUSED_STATUS, keyReusedMessage(key)) : undefined);
      if (definite) throw definite;
      lastProblem = `leader ${leader.id} answered ${res.status}${res.message ? `: ${res.message}` : ''}`;
      uncertain ||= mayHaveTraded(res.status, res.code);
      const rule = (res.code !== undefined && RETRY_RULES[res.code]) || REELECT;
      if (rule.quorumBound) {
        if (quorumLack?.leader.id !== leader.id || quorumLack.leader.epoch !== leader.epoch) quorumLack = { leader, since: monotonicNow() };
        if (monotonicNow() - quorumLack.since >= this.quorumWaitMs) throw unavailable(res.message ?? lastProblem);
      }
      if (!rule.sameLeader) {
        this.logger.warn(`${lastProblem}; re-electing and retrying`);
        await this.election.reportFailure(leader, lastProblem);
      }
      if (rule.pauseMs > 0) await sleep(rule.pauseMs);
    }
    throw unavailable(`the trade could not be made durable in time (${lastProblem})`);
  }

  /**
   * The trade forwarded to `leader`; {@link REPLACED} as soon as the front end names another
   * leader, the forward then left to finish or fail on its own.
   */
  private forward(leader: Leader, dto: PlaceOrderDto, key: string, requestId?: string): Promise<BatchItemResult | typeof REPLACED> {
    return new Promise((resolve, reject) => {
      const stop = this.election.whenReplaced(leader, () => resolve(REPLACED));
      this.replicas.trade(leader, dto, key, leader.epoch, requestId).then(resolve, reject).finally(stop);
    });
  }

  /**
   * Reads an order from a replica that can vouch for it (see the replicas' `lookupVerdict`): a
   * replica gives an order only once it is committed, answers 404 only when it is a settled leader
   * and the number is beyond its log, and otherwise refuses with 503 `not_committed`.
   *
   * The leader is asked first. If it gives no definite answer (a 503, an error, no answer within
   * {@link LOOKUP_HEDGE_MS}), every other replica is asked too, and each replica that gave no
   * definite answer is asked again every {@link LOOKUP_RETRY_MS} (a follower learns the commit
   * point with the leader's next sync; a new leader settles once it has caught up). The first
   * 200 or 404 is the answer. With none within `FORWARD_TIMEOUT_MS`, the answer is 503: no
   * replica could vouch for the order — never a 404 for an order that may exist.
   */
  lookup(orderNo: number, requestId?: string): Promise<OrderInfo> {
    // The leader named now, if any, without electing one: an election (pings, a vote written by each
    // candidate in turn, a fresh front end's grace) would come on top of FORWARD_TIMEOUT_MS, and
    // a committed order can be read from any replica. With none named, every replica is asked.
    return this.lookupFrom(this.election.current, orderNo, requestId);
  }

  private lookupFrom(leader: Leader | null, orderNo: number, requestId?: string): Promise<OrderInfo> {
    const all = this.replicas.replicas;
    const first = leader ? all.find((r) => r.id === leader.id) : undefined;
    return new Promise<OrderInfo>((resolve, reject) => {
      let settled = false;
      let fannedOut = false;
      let leaderReported = false;
      let anyAnswered = false;
      let lastProblem = 'no order replica is reachable';
      const inFlight = new Set<number>();
      const timers = new Set<NodeJS.Timeout>();
      const after = (ms: number, fn: () => void) => {
        const t = setTimeout(() => {
          timers.delete(t);
          fn();
        }, ms);
        timers.add(t);
      };
      const finish = (done: () => void) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        done();
      };
      const fanOut = () => {
        if (fannedOut) return;
        fannedOut = true;
        for (const r of all) if (r !== first) ask(r);
      };
      const unsure = (replica: ReplicaAddress, problem: string) => {
        lastProblem = problem;
        if (settled) return;
        fanOut();
        after(LOOKUP_RETRY_MS, () => ask(replica));
      };
      const ask = (replica: ReplicaAddress) => {
        if (settled || inFlight.has(replica.id)) return;
        inFlight.add(replica.id);
        this.replicas.query(replica, orderNo, requestId).then(
          (res) => {
            inFlight.delete(replica.id);
            if (res.status === 200) return finish(() => resolve(res.data.data));
            if (res.status === 404) return finish(() => reject(new OrderNotFound()));
            anyAnswered = true;
            const body = res.data as unknown as { error?: { message?: string }; message?: string } | undefined;
            const message = body?.error?.message ?? body?.message;
            unsure(replica, `replica ${replica.id} answered ${res.status}${message ? `: ${message}` : ''}`);
          },
          (err: Error) => {
            inFlight.delete(replica.id);
            if (leader && replica === first && !leaderReported && !settled) {
              leaderReported = true;
              void this.election.reportFailure(leader, err.message);
            }
            unsure(replica, `replica ${replica.id} unreachable: ${err.message}`);
          },
        );
      };
      after(this.lookupWaitMs, () =>
        finish(() =>
          reject(
            new Unavailable(
              anyAnswered ? `no order replica can vouch for order ${orderNo} yet (${lastProblem}); retry` : 'no order replica is reachable',
            ),
          ),
        ),
      );
      if (first) {
        ask(first);
        after(LOOKUP_HEDGE_MS, fanOut);
      } else {
        fanOut();
      }
    });
  }
}

/**
 * True when an answer of the leader leaves the trade's outcome unknown (see OrdersService): any
 * failure but the refusals a leader gives only before it has touched the catalog
 * ({@link REFUSED_BEFORE_TRADING}).
 */
export function mayHaveTraded(status: number, code?: string): boolean {
  if (status < 500) return false;
  return code === undefined || !(REFUSED_BEFORE_TRADING as readonly string[]).includes(code);
}
