/**
 * Route names shared by every app. The seed's paths are kept verbatim so that the
 * original Python client and servers stay wire-compatible.
 */
export const FrontendRoutes = {
  stocks: 'stocks',
  orders: 'orders',
  leader: 'leader',
  /** `GET /rm?stock_name=S` (seed form) and `POST /rm` with several stocks: the catalog's invalidation push. */
  invalidate: 'rm',
  cacheStats: 'cache/stats',
  /** The cluster at a glance: a self-refreshing page, and the JSON it reads. */
  statusPage: 'status',
  statusJson: 'status.json',
} as const;

export const CatalogRoutes = {
  query: 'query',
  trade: 'trade',
  /** Several trades decided in one transaction (internal; the order leader's group commit). */
  tradeBatch: 'trade/batch',
  /** Applied trades after a sequence number, for order-log reconciliation. */
  trades: 'trades',
  /** A front end's cache lease (internal): granted for CACHE_LEASE_MS, carrying invalidations that were not delivered. */
  lease: 'lease',
} as const;

export const OrderRoutes = {
  trade: 'trade',
  /** Several trades forwarded in one request (the front end's batching of concurrent trades). */
  tradeBatch: 'trade/batch',
  query: 'query',
  sync: 'sync',
  leader: 'leader',
  ping: 'ping',
  health: 'health',
  /** Replica status (epoch, leader, log position), used by recovery and promotion. */
  status: 'replication/status',
  /** A page of the order log after a given order number, used by recovery and gap repair. */
  log: 'replication/log',
  /** A peer found this replica's copy of an order differing from its own and a third replica's: compare again. */
  compare: 'replication/compare',
} as const;

/** Header a client may send on `POST /orders`; the same key always yields the same outcome. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/**
 * Header carrying the cluster's shared secret on every internal request (catalog, replicas, the
 * front end's `/rm`). Required by those endpoints when `CLUSTER_TOKEN` is set.
 */
export const CLUSTER_TOKEN_HEADER = 'x-cluster-token';

/** Header naming the request a log line belongs to; the front end's id travels along every hop. */
export const REQUEST_ID_HEADER = 'x-request-id';
