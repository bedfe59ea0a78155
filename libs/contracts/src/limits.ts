/** Largest quantity a single trade may carry; anything larger is rejected as invalid input (400). */
export const MAX_TRADE_QUANTITY = 1_000_000;
/** Stock names: printable, no spaces, bounded. Anything else is a malformed name (400). */
export const STOCK_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Trade types are accepted in any letter case; the spelling the client sent is kept. */
export const TRADE_TYPE_PATTERN = /^(buy|sell)$/i;
/** Idempotency keys / request ids: opaque, printable, bounded. */
export const REQUEST_ID_PATTERN = /^[\x21-\x7E]{1,128}$/;
/**
 * The prefix of the request ids the order leader derives for a client key reused past its window
 * (`reuse-<sha256 of the key and its use before>`): reserved, a client's key may not start with it,
 * or it could name another key's reuse.
 */
export const DERIVED_REQUEST_ID_PREFIX = 'reuse-';
/** Whether a client may send `key` as an `Idempotency-Key`: {@link REQUEST_ID_PATTERN}, and not the reserved prefix. */
export function isClientKey(key: string): boolean {
  return REQUEST_ID_PATTERN.test(key) && !key.startsWith(DERIVED_REQUEST_ID_PREFIX);
}
/**
 * Most trades in one internal batch (`POST /trade/batch` on the leader and the catalog) and most
 * stocks in one batched invalidation (`POST /rm`). Batches form by themselves under load: a hop
 * sends whatever queued while its previous request was under way.
 */
export const MAX_TRADE_BATCH = 128;
/** Largest page of the order log or of catalog trades returned in one response. */
export const MAX_PAGE_SIZE = 1000;
/** Largest JSON body any app accepts. */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * Deepest nesting of arrays/objects accepted in a body or query (the deepest legitimate input,
 * a sync batch, has 3 levels). Deeper input is refused with 400 before class-transformer, which
 * recurses per level and would overflow the stack (a 500) on a 64 KiB body of `[[[[…`.
 */
export const MAX_INPUT_DEPTH = 32;

export type TradeSide = 'buy' | 'sell';

/** `Buy`, `SELL`, `buy` → `buy`. Callers validate with {@link TRADE_TYPE_PATTERN} first. */
export function tradeSide(tradeType: string): TradeSide {
  return tradeType.toLowerCase() === 'sell' ? 'sell' : 'buy';
}
