import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CatalogMessages, FrontendEnv, KEY_REUSED_STATUS, keyReusedMessage, OrderInfo, PlaceOrderDto, ReplicaRefusal } from '@app/contracts';
import { DomainError, InvalidInput, OrderNotFound, StockNotFound, TradeRefused, Unavailable, withReason } from '@app/common';
import { LeaderElectionService } from '../leader/leader-election.service';
import { ReplicasClient } from '../leader/replicas.client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRY_PAUSE_MS = 50;

/**
 * Forwards trades and order lookups to the leader, hiding failovers from clients.
 *
 * A trade carries an idempotency key end to end (the client's, or one made here), so when a
 * forward fails — connection refused, timeout, 503, stale epoch — the front end re-elects at once
 * and sends the *same* request to the new leader; the catalog and the log see it at most once.
 * Retrying stops at `FAILOVER_TIMEOUT_MS`, or after `QUORUM_WAIT_MS` when the cluster cannot
 * make a trade durable (too few replicas), with a 503.
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

  constructor(
    private readonly election: LeaderElectionService,
    private readonly replicas: ReplicasClient,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.failoverTimeoutMs = config.get('FAILOVER_TIMEOUT_MS', { infer: true });
    this.quorumWaitMs = config.get('QUORUM_WAIT_MS', { infer: true });
  }

  /** `requestId`: the HTTP request's, carried to the leader with the trade (`key` is its idempotency key). */
  async place(dto: PlaceOrderDto, key: string, requestId?: string): Promise<number> {
    const started = Date.now();
    const deadline = started + this.failoverTimeoutMs;
    let lastProblem = 'no order replica is alive';
    /** Set once an attempt ended without a definite answer: it may have traded. */
    let uncertain = false;
    const unavailable = (message: string) =>
      new Unavailable(
        uncertain ? `${message}; an earlier attempt may have gone through: retry with the same Idempotency-Key to learn its outcome` : message,
      );
    while (Date.now() < deadline) {
      const leader = await this.election.leaderForRequest();
      if (!leader) {
        await sleep(RETRY_PAUSE_MS * 4);
        continue;
      }
      let res;
      try {
        res = await this.replicas.trade(leader, dto, key, leader.epoch, requestId);
      } catch (err) {
        lastProblem = `leader ${leader.id} unreachable: ${(err as Error).message}`;
        uncertain = true;
        await this.election.reportFailure(leader, lastProblem);
        continue;
      }
      const { message, code, order_no, reason } = res;
      switch (res.status) {
        case 200:
          return order_no as number;
        case 404:
          throw new StockNotFound(CatalogMessages.stockNotFound);
        case 409: {
          const refused = new TradeRefused(CatalogMessages.tradeFailed);
          throw reason ? withReason(refused, reason) : refused;
        }
        case 400:
          throw new InvalidInput(message ?? 'invalid order');
        case KEY_REUSED_STATUS:
          throw new DomainError(KEY_REUSED_STATUS, keyReusedMessage(key));
      }
      lastProblem = `leader ${leader.id} answered ${res.status}${message ? `: ${message}` : ''}`;
      if (mayHaveTraded(res.status, code)) uncertain = true;
      if (code === ReplicaRefusal.insufficientReplicas) {
        if (Date.now() - started >= this.quorumWaitMs) throw unavailable(message ?? lastProblem);
        await sleep(RETRY_PAUSE_MS * 2); // a replica may be coming back: same leader, same key
        continue;
      }
      if (code === ReplicaRefusal.notDurable || code === ReplicaRefusal.catalogUnavailable) {
        uncertain = true;
        await sleep(RETRY_PAUSE_MS); // same leader, same key
        continue;
      }
      this.logger.warn(`${lastProblem}; re-electing and retrying`);
      await this.election.reportFailure(leader, lastProblem);
    }
    throw unavailable(`the trade could not be made durable in time (${lastProblem})`);
  }

  /**
   * Reads an order from the leader; if the leader cannot answer, from any live replica that has
   * it (with a majority ack, every acknowledged order is on at least one of any two replicas).
   */
  async lookup(orderNo: number, requestId?: string): Promise<OrderInfo> {
    const leader = this.election.current ?? (await this.election.leaderForRequest());
    const order = leader ? [leader, ...this.replicas.replicas.filter((r) => r.id !== leader.id)] : this.replicas.replicas;
    let answered = false;
    for (const replica of order) {
      try {
        const res = await this.replicas.query(replica, orderNo, requestId);
        if (res.status === 200) return res.data.data;
        if (res.status === 404) {
          answered = true;
          if (replica === leader) throw new OrderNotFound(); // the leader holds every acknowledged order
          continue;
        }
      } catch (err) {
        if (err instanceof OrderNotFound) throw err;
        if (replica === leader) void this.election.reportFailure(leader, (err as Error).message);
      }
    }
    if (answered) throw new OrderNotFound();
    throw new Unavailable('no order replica is reachable');
  }
}

/**
 * Refusals a leader gives before it has touched the catalog for the trade: a replica that is not
 * (or no longer) the leader of that epoch refuses at the door, and one that cannot reach enough
 * replicas refuses before trading. Anything else that is not a definite answer may have traded.
 */
const BEFORE_TRADING: readonly string[] = [ReplicaRefusal.staleEpoch, ReplicaRefusal.notReady, ReplicaRefusal.insufficientReplicas];

/** True when an answer of the leader leaves the trade's outcome unknown (see OrdersService). */
export function mayHaveTraded(status: number, code?: string): boolean {
  if (status < 500) return false;
  return code === undefined || !BEFORE_TRADING.includes(code);
}
