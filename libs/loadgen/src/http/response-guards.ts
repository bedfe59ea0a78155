import type { CacheStats, ClusterStatusResponse, OrderInfo, OrderPlacedResponse, OrderQueryResponse, StockInfo } from '@app/contracts';

/** Type guards for the public API's bodies: a 200 with a malformed body is treated as an error. */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a record whose field `k` has the `typeof` `fields[k]`, for every k. */
function hasFields(value: unknown, fields: Record<string, 'string' | 'number'>): value is Record<string, unknown> {
  return isRecord(value) && Object.entries(fields).every(([k, type]) => typeof value[k] === type);
}

export function isStockInfo(body: unknown): body is StockInfo {
  return hasFields(body, { stock_name: 'string', price: 'number', trade_volume: 'number', quantity: 'number' });
}

export function isOrderPlaced(body: unknown): body is OrderPlacedResponse {
  return isRecord(body) && Number.isSafeInteger(body.order_no) && (body.order_no as number) > 0;
}

function isOrderInfo(value: unknown): value is OrderInfo {
  return hasFields(value, { order_no: 'number', stock_name: 'string', trade_type: 'string', quantity: 'number' });
}

export function isOrderQueryResponse(body: unknown): body is OrderQueryResponse {
  return isRecord(body) && isOrderInfo(body.data);
}

/** The `message` of an `{"error":{…}}` or `{"order_no":-1,"message"}` body, if any. */
export function errorMessage(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  if (typeof body.message === 'string') return body.message;
  if (isRecord(body.error) && typeof body.error.message === 'string') return body.error.message;
  return undefined;
}

const CACHE_COUNTERS = ['capacity', 'size', 'hits', 'misses', 'evictions', 'invalidations', 'stale_fills_dropped'] as const;

/** `GET /cache/stats`: `enabled` and every counter present, counters non-negative integers. */
export function isCacheStats(body: unknown): body is CacheStats {
  return (
    isRecord(body) &&
    typeof body.enabled === 'boolean' &&
    CACHE_COUNTERS.every((k) => Number.isSafeInteger(body[k]) && (body[k] as number) >= 0)
  );
}

const isNullableNumber = (v: unknown): boolean => v === null || typeof v === 'number';

/**
 * The front end's `GET /status.json`, checked as far as `client status` reads it: the sections,
 * every replica's id, address and state, and every leader change's time and reason.
 */
export function isClusterStatus(body: unknown): body is ClusterStatusResponse {
  if (!isRecord(body) || typeof body.time !== 'string') return false;
  const { frontend, catalog, leader, replicas, cache, leader_changes: changes } = body;
  return (
    isRecord(frontend) &&
    typeof frontend.pid === 'number' &&
    typeof frontend.uptime_s === 'number' &&
    isRecord(catalog) &&
    typeof catalog.address === 'string' &&
    typeof catalog.state === 'string' &&
    (leader === null || (isRecord(leader) && typeof leader.id === 'number' && typeof leader.epoch === 'number' && typeof leader.address === 'string')) &&
    Array.isArray(replicas) &&
    replicas.every(
      (r: unknown) =>
        isRecord(r) &&
        typeof r.id === 'number' &&
        typeof r.address === 'string' &&
        typeof r.state === 'string' &&
        ['epoch', 'last_no', 'commit_no', 'lag'].every((k) => isNullableNumber(r[k])) &&
        (r.detail === undefined || typeof r.detail === 'string'),
    ) &&
    isCacheStats(cache) &&
    isNullableNumber((cache as unknown as Record<string, unknown>).hit_ratio) &&
    Array.isArray(changes) &&
    changes.every((c: unknown) => isRecord(c) && typeof c.at === 'string' && typeof c.reason === 'string' && isNullableNumber(c.leader) && isNullableNumber(c.epoch))
  );
}
