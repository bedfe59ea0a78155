/** Response shapes shared by the apps. The public ones are exactly the seed's. */

export interface StockInfo {
  stock_name: string;
  price: number;
  trade_volume: number;
  quantity: number;
}

/** Catalog `GET /query` success. */
export interface CatalogQueryResponse {
  data: StockInfo;
}

/** `{"error":{"code","message"}}` — lookups' failure shape. */
export interface ErrorResponse {
  error: { code: number; message: string };
}

/** `POST /orders` and a replica's `/trade`. */
export interface OrderPlacedResponse {
  order_no: number;
}

export interface OrderFailedResponse {
  order_no: -1;
  message: string;
}

export interface OrderInfo {
  order_no: number;
  stock_name: string;
  trade_type: string;
  quantity: number;
}

export interface OrderQueryResponse {
  data: OrderInfo;
}

/** Catalog `POST /trade` success / failure: `{"message": …}`. */
export interface MessageResponse {
  message: string;
}

export const CatalogMessages = {
  traded: 'order had been trade successfully!',
  stockNotFound: 'Stock not found!',
  tradeFailed: 'Trade failed!',
} as const;

export const LookupMessages = {
  stockNotFound: 'Stock not found',
  orderNotFound: 'order not found',
} as const;

/** One applied catalog trade, as listed by the catalog's `GET /trades`. */
export interface CatalogTradeRecord {
  seq: number;
  request_id: string;
  stock_name: string;
  type: string;
  quantity: number;
}

export interface CatalogTradesPage {
  trades: CatalogTradeRecord[];
}

/**
 * The outcome of one trade of an internal batch: the status and the body fields the single-trade
 * endpoint would have answered it with (`message` on failure, `order_no` from a replica, `code`
 * on a replica's refusal, `reason` on a refused trade).
 */
export interface BatchItemResult {
  status: number;
  message?: string;
  code?: string;
  /** Why a 409 refused the trade (see TradeRefusalReason). */
  reason?: string;
  order_no?: number;
  /**
   * A successful trade's stock as the catalog committed it, at the trade or later (the catalog's
   * answer, passed on by the leader): the front end may cache it instead of looking it up.
   */
  stock?: StockInfo;
}

/** 200 answer of `POST /trade/batch` (catalog and replica): one result per trade, in order. */
export interface TradeBatchResponse {
  results: BatchItemResult[];
}

/** 200 answer of the front end's `POST /rm` (batched invalidation). */
export interface InvalidateBatchResponse {
  /** Stocks that were cached and are dropped now. */
  removed: string[];
  /** Stocks that were not cached, or whose entry already reaches the volume given (kept): nothing dropped; their version is bumped all the same. */
  not_cached: string[];
}

/** `GET /rm` on the front end (seed texts). */
export type InvalidateResponse = { stock_name: string; message: 'removed successfully' } | { message: "this stock isn't exist in cache" };

/** `GET /ping` on a replica when up and ready (seed form). */
export interface PingResponse {
  'alive order server': number;
  port: number;
}

export const REPLICA_ROLES = ['recovering', 'follower', 'promoting', 'leader'] as const;
export type ReplicaRole = (typeof REPLICA_ROLES)[number];

/** A replica's `GET /replication/status`: enough to pick a recovery source or a catch-up peer. */
export interface ReplicaStatus {
  id: number;
  role: ReplicaRole;
  ready: boolean;
  epoch: number;
  leader: number | null;
  last_no: number;
  last_epoch: number;
  commit_no: number;
  /**
   * Present (true) while this replica's own log may be damaged: a comparison found it differing
   * without a third copy on its side, or it must be compared again. A recovering peer does not
   * catch up from it (see RecoveryService).
   */
  log_suspect?: true;
  /**
   * The last number through which every entry of this replica's file carries its checksum, checked
   * at the replica's start or on the entry's way in (see OrderLogService.vouchedThrough). A peer
   * that restarts compares its log with this one's only after it (and after its own such number).
   * 0 until the check at start has run; absent from a replica of a version before checksums.
   */
  vouched_through?: number;
  /**
   * Present (true) until this replica's check at start of every entry of its file against its
   * checksum is over: its `vouched_through` is 0 meanwhile for want of knowing. A restarting peer
   * about to compare logs with it waits a little for the check (see RecoveryService), rather than
   * compare the whole log.
   */
  checking_log?: true;
}

/** A page of a replica's order log. */
export interface OrderLogPage {
  orders: import('./dto/order-record.dto').OrderRecordDto[];
  last_no: number;
  /**
   * The entry numbered `after`, read with the page (null when `after` is 0 or beyond the log): a
   * reader of several pages checks that each continues the one before (see CatchUpService).
   */
  prev?: import('./dto/order-record.dto').OrderRecordDto | null;
}

/** A follower's answer to `POST /sync`. */
export interface SyncResponse {
  last_no: number;
}

/** Machine-readable reason a replica refused a request with 503/409, so callers can tell them apart. */
export const ReplicaRefusal = {
  notLeader: 'not_leader',
  staleEpoch: 'stale_epoch',
  notReady: 'not_ready',
  /** The replica's own database cannot be written (disk full, I/O error) or a write is stuck: it cannot lead. */
  diskFailing: 'disk_failing',
  notDurable: 'not_durable',
  insufficientReplicas: 'insufficient_replicas',
  catalogUnavailable: 'catalog_unavailable',
  /**
   * An order lookup this replica cannot answer yet: the number is above its commit point (a
   * follower that has not learnt it, a leader still promoting, an appended but unacknowledged
   * entry), so neither the entry nor a 404 would be safe to give. Ask another replica, or again.
   */
  notCommitted: 'not_committed',
  /** `/ping`: this replica cannot reach a majority of the replicas (itself included), so it must not lead or be proposed. */
  noQuorum: 'no_quorum',
  /**
   * A trade failed after the catalog traded it, for a reason that would otherwise read as a refusal
   * before trading (an entry of the log found damaged, for one): its outcome is unknown. Retry with
   * the same key, at a leader elected again.
   */
  afterTrading: 'after_trading',
} as const;
export type ReplicaRefusalCode = (typeof ReplicaRefusal)[keyof typeof ReplicaRefusal];

/**
 * The front end's own 503 codes. `no_leader`: `GET /leader` while no leader is elected (before the
 * first election, or while too few replicas are ready). It describes the cluster's state rather
 * than a fault of the request, like a replica's refusals: the election logs losing a leader once,
 * where it happens, and the request line goes to debug.
 */
export const FrontendRefusal = {
  noLeader: 'no_leader',
} as const;

/**
 * The refusals a leader gives only before it has touched the catalog for a trade: a replica that
 * is not (or no longer) the leader of that epoch, or not ready, refuses at the door, and one that
 * cannot reach enough replicas refuses before trading. A leader that fails for one of these
 * reasons after the catalog traded answers {@link ReplicaRefusal.afterTrading} instead, so a
 * front end can tell a trade that did not happen from one that may have.
 */
export const REFUSED_BEFORE_TRADING: readonly ReplicaRefusalCode[] = [ReplicaRefusal.staleEpoch, ReplicaRefusal.notReady, ReplicaRefusal.insufficientReplicas];

/** Front end `GET /leader`. */
export interface LeaderResponse {
  leader: number;
  epoch: number;
  address: string;
  replicas: { id: number; address: string; state: 'leader' | 'ready' | 'not_ready' | 'down' }[];
}

export interface CacheStats {
  enabled: boolean;
  capacity: number;
  size: number;
  hits: number;
  misses: number;
  evictions: number;
  invalidations: number;
  stale_fills_dropped: number;
  /** Entries stored from a trade's answer (its stock as committed) rather than by a lookup. */
  offers_taken: number;
}

/** A replica as the front end's `GET /status.json` shows it. */
export interface ReplicaStatusView {
  id: number;
  address: string;
  /** `recovering`: up, catching up (not ready); `down`: no answer, or not a member it can vouch for. */
  state: 'leader' | 'ready' | 'recovering' | 'down';
  /** From the replica's own status; null when it did not answer. */
  role: ReplicaRole | null;
  epoch: number | null;
  last_no: number | null;
  commit_no: number | null;
  /** Orders behind the leader's last order (null when either is unknown). */
  lag: number | null;
  /** Why a replica is not ready, when it says (e.g. a wrong cluster token). */
  detail?: string;
}

/** One leader change the front end made or adopted. */
export interface LeaderChange {
  /** ISO time. */
  at: string;
  leader: number | null;
  epoch: number | null;
  reason: string;
}

/** The front end's `GET /status.json`: the cluster at a glance (public: no token, no internal detail). */
export interface ClusterStatusResponse {
  /** ISO time the view was assembled. */
  time: string;
  frontend: { pid: number; uptime_s: number };
  catalog: { address: string; state: 'up' | 'down' };
  leader: { id: number; epoch: number; address: string } | null;
  replicas: ReplicaStatusView[];
  cache: CacheStats & { hit_ratio: number | null };
  /** The most recent first, at most 20. */
  leader_changes: LeaderChange[];
}

/**
 * Why a trade was refused (409), carried as `reason` beside the seed's message `"Trade failed!"`
 * (which stays as it is) by the catalog, the order leader and the front end.
 */
export const TradeRefusalReason = {
  /** A buy of more shares than the catalog holds. */
  notEnoughShares: 'not enough shares',
  /** A sell that would take the stock past its capacity (`STOCK_CAPACITY`). */
  overCapacity: 'over capacity',
} as const;
export type TradeRefusalReasonText = (typeof TradeRefusalReason)[keyof typeof TradeRefusalReason];

/** The catalog's `GET /query` without a name (internal): every stock, sorted by name. */
export interface StockListResponse {
  data: StockInfo[];
}
