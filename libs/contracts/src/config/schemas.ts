import { IsBoolean, IsIn, IsOptional, IsString, IsUrl, Matches, MinLength, registerDecorator, ValidationArguments } from 'class-validator';
import { DEFAULT_ORDER_REPLICAS, IsListedReplica, IsReplicaList, parseReplicaList, ReplicaAddress, ReplicaListTransform } from './replicas';
import { MAX_PAGE_SIZE } from '../limits';
import { MAX_FAILOVER_TIMEOUT_MS, MIN_IDEMPOTENCY_RETENTION_MS } from '../idempotency';
import { EnvBool, IntSetting } from './env';

const URL_OPTS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/** A comma-separated list of http(s) URLs (at least one), e.g. `FRONTEND_URLS`. */
function IsUrlList(): PropertyDecorator {
  return (target, key) =>
    registerDecorator({
      name: 'isUrlList',
      target: target.constructor,
      propertyName: key as string,
      options: { message: 'must be a comma-separated list of http(s) URLs' },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          value.split(',').every((u) => /^https?:\/\/[^\s/?#]+(\/[^\s]*)?$/.test(u.trim()) && URL.canParse(u.trim())),
      },
    });
}

/** A setting that may not exceed another (e.g. a push's timeout and the lease it must fit in). */
function AtMost(other: string): PropertyDecorator {
  return (target, key) =>
    registerDecorator({
      name: 'atMost',
      target: target.constructor,
      propertyName: key as string,
      options: { message: (a: ValidationArguments) => `must not exceed ${other} (${(a.object as Record<string, unknown>)[other]})` },
      validator: {
        validate: (value: unknown, a: ValidationArguments) => {
          const limit = (a.object as Record<string, unknown>)[other];
          return typeof value !== 'number' || typeof limit !== 'number' || value <= limit;
        },
      },
    });
}

/** The lease settings a catalog and its front ends share: `CACHE_LEASE_MS`'s bounds. */
export const CACHE_LEASE_LIMITS = { min: 50, max: 60_000 } as const;

/** The front ends of a catalog, from `FRONTEND_URLS` (comma-separated), else `FRONTEND_URL`; normalised, without a trailing slash. */
export function frontendUrls(env: Pick<CatalogEnv, 'FRONTEND_URL' | 'FRONTEND_URLS'>): string[] {
  const list = env.FRONTEND_URLS ?? env.FRONTEND_URL;
  return [...new Set(list.split(',').map((u) => u.trim().replace(/\/+$/, '')))];
}

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export const SQLITE_SYNC_MODES = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;
export const CPU_SCHEDULING_POLICIES = ['batch', 'inherit'] as const;
/** `V8_INTERRUPT_BUDGET`'s upper bound: 16 MiB of bytecode between ticks, far past V8's own. */
export const V8_INTERRUPT_BUDGET_MAX = 16 * 1024 * 1024;

/** Settings every server app shares. */
export class CommonEnv {
  /** Interface the server binds to. */
  @IsString() @MinLength(1)
  HOST = '127.0.0.1';

  /** Directory holding this app's SQLite file (one file per service/replica). */
  @IsString() @MinLength(1)
  DATA_DIR = './data';

  /** Least severe log level printed. */
  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevelName = 'log';

  /** SQLite `PRAGMA synchronous` (WAL mode): FULL syncs the WAL on every commit. */
  @IsIn(SQLITE_SYNC_MODES, { message: `must be one of ${SQLITE_SYNC_MODES.join(', ')}` })
  SQLITE_SYNCHRONOUS: (typeof SQLITE_SYNC_MODES)[number] = 'FULL';

  /** Swagger UI at /docs. */
  @EnvBool() @IsBoolean({ message: 'must be true or false' })
  SWAGGER_ENABLED = true;

  /**
   * Most connections one client address may hold open at once; more are closed at once (0: no
   * limit). With the headers' 10 s and a request's 30 s, one client cannot hold every connection
   * a server can open. Behind a proxy every client has its address: raise it there.
   */
  @IntSetting(0, 1_000_000)
  MAX_CONNECTIONS_PER_CLIENT = 1024;

  /**
   * Shared secret of the cluster: internal endpoints answer 401 unless a request carries it in
   * `x-cluster-token`, and every internal request sends it. Unset: internal endpoints are open
   * (a warning is logged at start).
   */
  @IsOptional()
  @Matches(/^[\x21-\x7E]{16,256}$/, { message: 'must be 16 to 256 printable characters without spaces' })
  CLUSTER_TOKEN?: string;

  /**
   * A file holding the cluster token (Docker and Kubernetes secrets): read at start, must not be
   * readable by every user. Excludes CLUSTER_TOKEN. With neither, `DATA_DIR/cluster-token` is used
   * when it exists (`npm start` creates it).
   */
  @IsOptional() @IsString() @MinLength(1)
  CLUSTER_TOKEN_FILE?: string;

  /** `json`: one JSON object per line; `pretty`: coloured, human-readable; `auto`: pretty on a terminal, else JSON. */
  @IsIn(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` })
  LOG_FORMAT: (typeof LOG_FORMATS)[number] = 'auto';

  /** On SIGTERM/SIGINT: longest wait for requests in flight before their connections are closed. */
  @IntSetting(0, 600_000, ' (ms)')
  SHUTDOWN_TIMEOUT_MS = 10_000;

  /**
   * Linux CPU scheduling policy of the process (all its threads), set at start with `chrt`:
   * `batch` (SCHED_BATCH: a message's receiver waits for the sender's time slice instead of
   * preempting it on wake-up), `inherit`: left as started.
   */
  @IsIn(CPU_SCHEDULING_POLICIES, { message: `must be one of ${CPU_SCHEDULING_POLICIES.join(', ')}` })
  CPU_SCHEDULING: (typeof CPU_SCHEDULING_POLICIES)[number] = 'batch';

  /**
   * How soon V8 optimizes a hot function: the bytecode a function runs between two of its
   * profiler ticks, in bytes (V8's `--interrupt-budget`, set once the server listens). V8's own,
   * 67,584 on Node 20, takes a freshly started service many seconds of load to warm up; 0 leaves
   * V8's own.
   */
  @IntSetting(0, V8_INTERRUPT_BUDGET_MAX, ' (bytes)')
  V8_INTERRUPT_BUDGET = 8192;
}

export class CatalogEnv extends CommonEnv {
  @IntSetting(1, 65535)
  CATALOG_PORT = 10001;

  /** Where cache invalidations are pushed (`POST /rm`) when FRONTEND_URLS is not set: a list of one. */
  @IsUrl(URL_OPTS, { message: 'must be an http(s) URL' })
  FRONTEND_URL = 'http://127.0.0.1:30001';

  /**
   * Every front end that may hold a cache lease, comma-separated; each gets the invalidation
   * pushes. Unset: FRONTEND_URL alone.
   */
  @IsOptional() @IsUrlList()
  FRONTEND_URLS?: string;

  /** How long a front end's cache lease lasts (the front ends use the shorter of theirs and this). */
  @IntSetting(CACHE_LEASE_LIMITS.min, CACHE_LEASE_LIMITS.max, ' (ms)')
  CACHE_LEASE_MS = 1000;

  /** Added to a lease's expiry for clock-rate drift between the catalog and a front end. */
  @IntSetting(0, 60_000, ' (ms)')
  LEASE_MARGIN_MS = 200;

  /** Most shares of one stock the catalog may hold; a sell past it is refused. */
  @IntSetting(1, 1_000_000_000)
  STOCK_CAPACITY = 100;

  /**
   * Timeout of one invalidation push. A push that fails makes the trade wait until that front
   * end's lease has expired, so it may not exceed CACHE_LEASE_MS.
   */
  @AtMost('CACHE_LEASE_MS')
  @IntSetting(1, 60_000, ' (ms)')
  INVALIDATION_TIMEOUT_MS = 1000;

  /**
   * Idempotency keys (the `trades` table's request ids) are remembered at least this long; older
   * ones may be forgotten by the cleanup (see IDEMPOTENCY_CLEANUP_*).
   */
  @IntSetting(MIN_IDEMPOTENCY_RETENTION_MS, 365 * 24 * 3_600_000, ' (ms)')
  IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;

  /** How often the cleanup of expired keys runs. */
  @IntSetting(100, 24 * 3_600_000, ' (ms)')
  IDEMPOTENCY_CLEANUP_INTERVAL_MS = 60_000;

  /** Most expired trade records one cleanup run deletes. */
  @IntSetting(1, 100_000)
  IDEMPOTENCY_CLEANUP_BATCH = 1000;
}

export const ACK_MODES = ['majority', 'leader'] as const;
export type AckMode = (typeof ACK_MODES)[number];
export const FAULT_POINTS = ['none', 'after-catalog-trade', 'after-local-commit', 'after-replicate-one'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export class OrderEnv extends CommonEnv {
  /** This replica's id; must appear in ORDER_REPLICAS. */
  @IsListedReplica()
  @IntSetting(1, 1000)
  ORDER_ID = 1;

  /** Port to listen on; defaults to the port of this id's entry in ORDER_REPLICAS. */
  @IsOptional() @IntSetting(1, 65535)
  ORDER_PORT?: number;

  @ReplicaListTransform() @IsReplicaList()
  ORDER_REPLICAS: ReplicaAddress[] = parseReplicaList(DEFAULT_ORDER_REPLICAS)!;

  @IsUrl(URL_OPTS, { message: 'must be an http(s) URL' })
  CATALOG_URL = 'http://127.0.0.1:10001';

  /** `majority`: acknowledge once a majority of replicas has the order durable; `leader`: once the leader alone has it. */
  @IsIn(ACK_MODES, { message: `must be one of ${ACK_MODES.join(', ')}` })
  ORDER_ACK_MODE: AckMode = 'majority';

  /**
   * Leader → follower heartbeat period (sent only to a follower not synced within it); also how
   * often a lagging follower is retried. Keep it well under FOLLOWER_TIMEOUT_MS.
   */
  @IntSetting(10, 60_000, ' (ms)')
  HEARTBEAT_INTERVAL_MS = 250;

  /** A follower not heard from for this long does not count towards a majority when a trade starts. */
  @IntSetting(50, 600_000, ' (ms)')
  FOLLOWER_TIMEOUT_MS = 1000;

  /** Longest wait for an order to become durable on enough replicas before answering 503. */
  @IntSetting(50, 600_000, ' (ms)')
  DURABILITY_TIMEOUT_MS = 3000;

  /** Timeout of one request to a peer replica or the catalog. */
  @IntSetting(50, 600_000, ' (ms)')
  PEER_TIMEOUT_MS = 2000;

  /** How often the leader checks the catalog for applied trades missing from the log. */
  @IntSetting(50, 600_000, ' (ms)')
  RECONCILE_INTERVAL_MS = 1000;

  /**
   * Most orders the leader sends a follower in one sync; fewer when they would not fit in one
   * request body (`MAX_BODY_BYTES`, 64 KiB).
   */
  @IntSetting(1, MAX_PAGE_SIZE)
  SYNC_BATCH_SIZE = 200;

  /**
   * Thrifty replication (with `ORDER_ACK_MODE=majority`): a new order goes at once only to the
   * majority − 1 followers a majority needs besides the leader (the highest ids among those
   * answering); the others, the spares, get the orders waiting for them once there are this many,
   * on the heartbeat, or at once when the majority cannot be made without them. 0: every follower
   * gets every order at once.
   */
  @IntSetting(0, MAX_PAGE_SIZE)
  SPARE_SYNC_ENTRIES = 8;

  /**
   * How long an order may wait for the followers its majority was counted on before the spares
   * are sent it too; a follower whose sync has waited longer is no longer counted on.
   */
  @IntSetting(1, 60_000, ' (ms)')
  SPARE_RESCUE_MS = 20;

  /**
   * Orders per page a replica fetches from its source when it catches up (at a restart, a
   * promotion or a gap repair). Pages are responses, not request bodies: the body limit does not
   * bound them, and a long catch-up costs about one round trip and one commit per page.
   */
  @IntSetting(1, MAX_PAGE_SIZE)
  CATCH_UP_PAGE_SIZE = MAX_PAGE_SIZE;

  /**
   * An operator's override, for one start: forget that this replica's log was found differing from
   * a peer's (`must_compare`), when no third replica can settle which file differs and the operator
   * compared the copies by hand and kept this one (see RecoveryService).
   */
  @EnvBool() @IsBoolean({ message: 'must be true or false' })
  TRUST_OWN_LOG = false;

  /**
   * An operator's override, for one start of a replica rebuilt on a new or emptied file: rejoin
   * with the one peer that answers, instead of waiting for all but majority − 2 of them. Orders
   * committed with the lost copy and held only by a peer that is down are then left out, and a
   * vote it cast before may be cast again (see RecoveryService.assertEnoughToRejoin).
   */
  @EnvBool() @IsBoolean({ message: 'must be true or false' })
  REJOIN_WITH_PEERS_DOWN = false;

  /**
   * An order's idempotency key binds it to its request for this long: a repeat with the same key
   * inside the window replays the order (or is refused 422 when it asks for another trade); past
   * it, the key is forgotten and names a new trade. Orders themselves are kept forever.
   */
  @IntSetting(MIN_IDEMPOTENCY_RETENTION_MS, 365 * 24 * 3_600_000, ' (ms)')
  IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;

  /**
   * A write of the order log that has not finished after this long makes the replica not ready
   * (its disk is stuck: another replica should lead). A write that is merely slow, well under
   * this, changes nothing: `/ping` never waits for the database.
   */
  @IntSetting(100, 600_000, ' (ms)')
  DISK_STALL_MS = 10_000;

  /** Tests only: every write of the order log waits this long before it commits (a slow disk). */
  @IntSetting(0, 60_000, ' (ms)')
  ORDER_COMMIT_DELAY_MS = 0;

  /** Tests only: crash (SIGKILL itself) at a named point. */
  @IsIn(FAULT_POINTS, { message: `must be one of ${FAULT_POINTS.join(', ')}` })
  FAULT_POINT: FaultPoint = 'none';

  /** Tests only: crash on the Nth time the fault point is reached. */
  @IntSetting(1, 1_000_000)
  FAULT_POINT_HIT = 1;
}

export class FrontendEnv extends CommonEnv {
  @IntSetting(1, 65535)
  FRONTEND_PORT = 30001;

  @IsUrl(URL_OPTS, { message: 'must be an http(s) URL' })
  CATALOG_URL = 'http://127.0.0.1:10001';

  @ReplicaListTransform() @IsReplicaList()
  ORDER_REPLICAS: ReplicaAddress[] = parseReplicaList(DEFAULT_ORDER_REPLICAS)!;

  /** Serve stock lookups from the LRU cache. */
  @EnvBool() @IsBoolean({ message: 'must be true or false' })
  CACHE_ENABLED = true;

  /** Most stocks held in the cache. */
  @IntSetting(1, 10_000_000)
  CACHE_CAPACITY = 100;

  /**
   * The cache lease asked of the catalog, renewed every third of it; the shorter of this and the
   * catalog's CACHE_LEASE_MS is used. Without a lease, lookups bypass the cache.
   */
  @IntSetting(CACHE_LEASE_LIMITS.min, CACHE_LEASE_LIMITS.max, ' (ms)')
  CACHE_LEASE_MS = 1000;

  /**
   * This front end's id towards the catalog: its URL as the catalog's FRONTEND_URLS lists it.
   * Default `http://HOST:FRONTEND_PORT` (127.0.0.1 when HOST is a wildcard address).
   */
  @IsOptional() @IsUrl(URL_OPTS, { message: 'must be an http(s) URL' })
  FRONTEND_ID?: string;

  /** How often the leader is pinged. */
  @IntSetting(10, 60_000, ' (ms)')
  ELECTION_INTERVAL_MS = 200;

  /**
   * The first election waits up to this long for every configured replica to be ready, so that
   * a fresh cluster elects the highest id; a replica already leading is adopted at once.
   */
  @IntSetting(0, 600_000, ' (ms)')
  ELECTION_GRACE_MS = 3000;

  /** A replica that does not answer /ping within this is considered down. */
  @IntSetting(10, 60_000, ' (ms)')
  PING_TIMEOUT_MS = 500;

  /** Timeout of one forwarded request to a replica or the catalog. */
  @IntSetting(50, 600_000, ' (ms)')
  FORWARD_TIMEOUT_MS = 5000;

  /**
   * How long a trade keeps trying when the leader reports too few replicas to make it durable
   * (a replica may be just coming back) before the client gets 503. Keep it short: fail fast.
   */
  @IntSetting(0, 600_000, ' (ms)')
  QUORUM_WAIT_MS = 2000;

  /**
   * Longest a trade is retried across failovers before the client gets 503. At most half the
   * shortest key window the catalog and the replicas allow, so that every resend of a trade finds
   * its key still bound there (see {@link MIN_IDEMPOTENCY_RETENTION_MS}).
   */
  @IntSetting(100, MAX_FAILOVER_TIMEOUT_MS, ' (ms)')
  FAILOVER_TIMEOUT_MS = 15000;

  /** Most requests one client address may make to the public API per window; 0 turns the limit off. */
  @IntSetting(0, 1_000_000_000)
  RATE_LIMIT = 0;

  /** The rate limit's window. */
  @IntSetting(1, 3_600_000, ' (ms)')
  RATE_LIMIT_WINDOW_MS = 1000;
}
