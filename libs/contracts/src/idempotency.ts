import { tradeSide } from './limits';

/**
 * Idempotency keys bound to their request, as in Stripe's API: a key names one request, so it is
 * stored with a fingerprint of that request, and a later request with the same key but another
 * stock, side or quantity is refused (422) instead of being answered with the first one's outcome.
 *
 * What is compared: `stock_name` exactly (stock names are case-sensitive: `stock1` is no stock),
 * the side of `trade_type` regardless of letter case, and `quantity` as an integer. So `Buy` and
 * `buy` with the same key are the same request (the bazaar treats them as the same trade; the
 * first spelling is the one the order keeps), and `"5"` and `5` are the same quantity.
 */
export interface TradeRequestFields {
  stock_name: string;
  trade_type: string;
  quantity: number;
}

/** The fingerprint of a trade request: equal for two requests exactly when they ask for the same trade. */
export function tradeFingerprint(t: TradeRequestFields): string {
  return `${t.stock_name}\n${tradeSide(t.trade_type)}\n${Number(t.quantity)}`;
}

/** True when two trade requests are the same request for idempotency purposes (see {@link tradeFingerprint}). */
export function sameTradeRequest(a: TradeRequestFields, b: TradeRequestFields): boolean {
  return tradeFingerprint(a) === tradeFingerprint(b);
}

/** Machine-readable code of a 422 answered to a key reused for another request (internal routes carry it). */
export const IdempotencyRefusal = {
  keyReused: 'key_reused',
} as const;

/** The message of that 422, on every route: `Idempotency-Key k was used for a different request`. */
export function keyReusedMessage(key: string): string {
  return `Idempotency-Key ${key} was used for a different request`;
}

/** The HTTP status of a key reused for another request. */
export const KEY_REUSED_STATUS = 422;

/** Default of `IDEMPOTENCY_RETENTION_MS`: keys are remembered for at least 24 hours. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * `IDEMPOTENCY_RETENTION_MS`'s floor, at the catalog and the replicas alike. A front end that lost
 * a trade's answer resends it with the same key, to the next leader, for up to
 * `FAILOVER_TIMEOUT_MS` ({@link MAX_FAILOVER_TIMEOUT_MS} at most). Each resend must find the key
 * still bound: the log compares the first attempt's order, appended after the trade's start, with
 * its own clock, and the catalog its trade record. A key already past its window there would make
 * the resend a new trade, and the client's one trade would be made twice. So the window is at
 * least twice the longest retry span a front end may be given: the other half covers a resend's
 * time in flight and the clocks of two hosts that disagree by less than that. The processes
 * cannot check this against each other's settings; the two bounds make every combination safe.
 */
export const MIN_IDEMPOTENCY_RETENTION_MS = 60_000;

/** `FAILOVER_TIMEOUT_MS`'s ceiling: half the shortest key window ({@link MIN_IDEMPOTENCY_RETENTION_MS}). */
export const MAX_FAILOVER_TIMEOUT_MS = MIN_IDEMPOTENCY_RETENTION_MS / 2;

/**
 * True when a key first used at `createdAt` (ms epoch) is still inside its retention window at
 * `now`. A key inside its window is never forgotten; past it, it may be.
 */
export function withinRetention(createdAt: number, now: number, retentionMs: number): boolean {
  return now - createdAt < retentionMs;
}
