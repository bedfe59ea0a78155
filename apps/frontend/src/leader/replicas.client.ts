import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  BatchItemResult,
  FrontendEnv,
  LeaderResponse,
  MAX_TRADE_BATCH,
  OrderQueryResponse,
  OrderRoutes,
  PlaceOrderDto,
  ReplicaAddress,
  ReplicaStatus,
  ReplicaTradeBatchDto,
  ReplicaTradeItemDto,
  TradeBatchResponse,
} from '@app/contracts';
import { Batcher, HopClient, HopResponse, requestIdHeaders } from '@app/common';

/**
 * Trade batches under way to the leader at once. The leader handles every trade of a batch on its
 * own (its catalog hop, log append and replication each batch by themselves), so a batch that
 * leaves while another is under way joins the leader's next stage instead of waiting for the whole
 * round trip of the one before: the hops pipeline. Each trade keeps its own idempotency key and
 * retry, so nothing about exactly-once depends on batches going one at a time.
 */
export const FORWARDS_IN_FLIGHT = 4;

/** What a `/ping` says about a replica. */
export type ProbedState = Exclude<LeaderResponse['replicas'][number]['state'], 'leader'>;

/**
 * A replica's `/replication/status`, or why there is none: it answered with another HTTP status
 * (401: it rejects this front end's cluster token), or it did not answer at all.
 */
export type StatusReading =
  | { kind: 'status'; status: ReplicaStatus }
  | { kind: 'refused'; httpStatus: number }
  | { kind: 'unreachable'; cause: 'refused' | 'timeout' | 'error' };

/**
 * Why a replica gave no answer, from {@link HopClient}'s rejection: `refused` (nothing listens
 * there), `timeout` (no answer within the call's time), or `error` (reset, unreachable host, …).
 */
export function unreachableCause(err: unknown): 'refused' | 'timeout' | 'error' {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown };
  if (code === 'ECONNREFUSED') return 'refused';
  if (name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  return 'error';
}

/** `/ping` as a state, with the checks that failed when the replica says it is not ready. */
export interface PingReading {
  state: ProbedState;
  /** E.g. `recovery down`, or `database down: SQLITE_BUSY …` (short; never the whole body). */
  reason?: string;
}

/** Longest reason {@link ReplicasClient.pingReading} passes on. */
const MAX_REASON = 120;

/** The front end's HTTP calls to order replicas. Statuses are returned; transport errors thrown. */
@Injectable()
export class ReplicasClient {
  readonly replicas: ReplicaAddress[];
  private readonly pingTimeoutMs: number;
  private readonly forwardTimeoutMs: number;
  private readonly tradeBatchers = new Map<string, Batcher<ReplicaTradeItemDto, BatchItemResult>>();

  constructor(
    private readonly hops: HopClient,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.replicas = config.get('ORDER_REPLICAS', { infer: true });
    this.pingTimeoutMs = config.get('PING_TIMEOUT_MS', { infer: true });
    this.forwardTimeoutMs = config.get('FORWARD_TIMEOUT_MS', { infer: true });
  }

  /** True when the replica answers `/ping` with 200 (up, database reachable, recovered). */
  async ping(replica: ReplicaAddress): Promise<boolean> {
    return (await this.probe(replica)) === 'ready';
  }

  /** `/ping` as a state: 200 is ready, any other answer not ready (recovering), no answer down. */
  async probe(replica: ReplicaAddress): Promise<ProbedState> {
    try {
      const res = await this.hops.get(`${replica.url}/${OrderRoutes.ping}`, { timeoutMs: this.pingTimeoutMs });
      return res.status === 200 ? 'ready' : 'not_ready';
    } catch {
      return 'down';
    }
  }

  /**
   * `/ping` with the reason a replica gives for not being ready: the names of the terminus checks
   * that are down (and their messages), e.g. `recovery down`.
   */
  async pingReading(replica: ReplicaAddress): Promise<PingReading> {
    try {
      const res = await this.hops.get<unknown>(`${replica.url}/${OrderRoutes.ping}`, { timeoutMs: this.pingTimeoutMs });
      if (res.status === 200) return { state: 'ready' };
      const reason = failedChecks(res.data);
      return { state: 'not_ready', ...(reason ? { reason } : {}) };
    } catch {
      return { state: 'down' };
    }
  }

  /** The replica's status; null when it did not answer with one (see {@link readStatus} for why). */
  async status(replica: ReplicaAddress): Promise<ReplicaStatus | null> {
    const reading = await this.readStatus(replica);
    return reading.kind === 'status' ? reading.status : null;
  }

  /** The replica's status, or why there is none (a 401 means it rejects this front end's cluster token). */
  async readStatus(replica: ReplicaAddress): Promise<StatusReading> {
    try {
      const res = await this.hops.get<ReplicaStatus>(`${replica.url}/${OrderRoutes.status}`, { timeoutMs: this.pingTimeoutMs });
      return res.status === 200 ? { kind: 'status', status: res.data } : { kind: 'refused', httpStatus: res.status };
    } catch (err) {
      return { kind: 'unreachable', cause: unreachableCause(err) };
    }
  }

  /** How long a `/ping` or status call may take (for messages about a replica that did not answer). */
  get statusTimeoutMs(): number {
    return this.pingTimeoutMs;
  }

  /**
   * Announces the leader of `epoch`; true when the replica accepted it. The replica records its
   * vote durably before it answers (one commit), so this waits as long as a forwarded request, not
   * a ping: a slow disk must not pass for a dead candidate.
   */
  async announce(replica: ReplicaAddress, leader: number, epoch: number): Promise<boolean> {
    try {
      const res = await this.hops.get(`${replica.url}/${OrderRoutes.leader}`, { query: { leader, epoch }, timeoutMs: this.forwardTimeoutMs });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * Forwards a trade to the leader of `epoch`. Concurrent trades travel together: a
   * `POST /trade/batch` carries everything submitted since the last one left, and up to
   * {@link FORWARDS_IN_FLIGHT} are under way at once.
   * Resolves with the trade's own status and answer; rejects when the leader cannot be reached
   * (refused, reset, timeout) — every trade of that request then retries on its own. The batch's
   * request carries the id of its first trade's request (`requestId`).
   */
  trade(replica: ReplicaAddress, dto: PlaceOrderDto, idempotencyKey: string, epoch: number, requestId?: string): Promise<BatchItemResult> {
    const key = `${replica.id}@${epoch}`;
    let batcher = this.tradeBatchers.get(key);
    if (!batcher) {
      // One batcher per leader and epoch (a batch names its epoch); an election leaves the old ones idle.
      for (const [k, b] of this.tradeBatchers) if (b.idle) this.tradeBatchers.delete(k);
      batcher = new Batcher((trades, requestId) => this.forwardBatch(replica, epoch, trades, requestId), {
        maxBatch: MAX_TRADE_BATCH,
        maxInFlight: FORWARDS_IN_FLIGHT,
      });
      this.tradeBatchers.set(key, batcher);
    }
    const { stock_name, trade_type, quantity } = dto;
    return batcher.submit({ stock_name, trade_type, quantity, request_id: idempotencyKey }, requestId);
  }

  private async forwardBatch(
    replica: ReplicaAddress,
    epoch: number,
    trades: ReplicaTradeItemDto[],
    requestId: string | undefined,
  ): Promise<BatchItemResult[]> {
    const body: ReplicaTradeBatchDto = { epoch, trades };
    const url = `${replica.url}/${OrderRoutes.tradeBatch}`;
    const res = await this.hops.post<TradeBatchResponse & BatchItemResult>(url, body, {
      timeoutMs: this.forwardTimeoutMs,
      headers: requestIdHeaders(requestId),
    });
    if (res.status === 200 && res.data.results?.length === trades.length) return res.data.results;
    // Refused as a whole (recovering, unauthorized, …): each trade of it gets that answer.
    return trades.map(() => ({ status: res.status, message: res.data?.message, code: res.data?.code }));
  }

  query(replica: ReplicaAddress, orderNo: number, requestId?: string): Promise<HopResponse<OrderQueryResponse>> {
    return this.hops.get<OrderQueryResponse>(`${replica.url}/${OrderRoutes.query}`, {
      query: { order_no: orderNo },
      timeoutMs: this.forwardTimeoutMs,
      headers: requestIdHeaders(requestId),
    });
  }
}

/**
 * The failed checks of a terminus report (`{"status":"error","error":{"recovery":{"status":"down",…}}}`)
 * as one short line: `recovery down`, `database down: <message>`, `recovery down: <reason>` (a
 * check's `message`, else its `reason`). Undefined for any other body.
 */
export function failedChecks(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return undefined;
  // The bazaar's error shape (`{"error":{"code","message"}}`): the message is the reason.
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'number' && typeof message === 'string') return clip(message);
  const parts = Object.entries(error as Record<string, unknown>).map(([check, result]) => {
    const { message, reason } = (result ?? {}) as { message?: unknown; reason?: unknown };
    const why = typeof message === 'string' && message ? message : typeof reason === 'string' && reason ? reason : undefined;
    return why ? `${check} down: ${why}` : `${check} down`;
  });
  return parts.length ? clip(parts.join('; ')) : undefined;
}

function clip(line: string): string {
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}
