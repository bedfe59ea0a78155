import { createServer } from 'node:net';
import type { OrderRecordDto } from '@app/contracts/dto/order-record.dto';

/** The address every process binds to and is reached at unless a cluster places it on another host. */
export const LOOPBACK = '127.0.0.1';

/** Environment variables for a process, by name. */
export type Env = Record<string, string>;

/**
 * Fast failure detection for tests and harnesses; every value is still validated by the apps.
 * The log level is the apps' own default: their role changes, recoveries and catch-ups (a few lines
 * each) are what a failed test's message shows of a process (see Cluster.describeReplicas).
 */
export const TEST_ENV: Env = {
  LOG_LEVEL: 'log',
  ELECTION_INTERVAL_MS: '100',
  PING_TIMEOUT_MS: '400',
  HEARTBEAT_INTERVAL_MS: '100',
  FOLLOWER_TIMEOUT_MS: '2000',
  PEER_TIMEOUT_MS: '2000',
  DURABILITY_TIMEOUT_MS: '2000',
  RECONCILE_INTERVAL_MS: '300',
  FORWARD_TIMEOUT_MS: '3000',
  FAILOVER_TIMEOUT_MS: '20000',
  SWAGGER_ENABLED: 'true',
};

/**
 * Which settings a cluster's processes start with: `test`, the fast timers of {@link TEST_ENV}
 * (a failure is noticed in a second or two, so suites stay short); `production`, the apps' own
 * defaults (what a benchmark measures).
 */
export type ClusterSettings = 'test' | 'production';

/** The environment `settings` (default `test`) puts under every process's own. */
export function settingsEnv(settings: ClusterSettings = 'test'): Env {
  return settings === 'test' ? TEST_ENV : {};
}

/** A loopback port nothing listens on right now (another process may still take it before it is bound). */
export async function freePort(): Promise<number> {
  // The kernel may hand the same ephemeral port to two listen(0) calls in a row once the first
  // is closed: a cluster's processes would then be given one port between two of them.
  for (let attempt = 0; ; attempt++) {
    const port = await anyFreePort();
    if (!handedOut.has(port) || attempt >= 20) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Ports {@link freePort} gave in this process: none is given twice. */
const handedOut = new Set<number>();

function anyFreePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** Stock `k` (1-based) of the catalog's initial data: `Stock<k>`, 100 shares, no volume traded. */
export function initialStock(k: number) {
  return { stock_name: `Stock${k}`, price: Math.round((10 * k - 0.01) * 100) / 100, trade_volume: 0, quantity: 100 };
}

/**
 * Entry `order_no` of a replicated order log, for unit specs: written at `epoch` by the request
 * `<tag>-<order_no>` (another tag, another request at the same number), one buy of Stock1 whose
 * quantity is its number, stamped at a fixed time plus its number.
 */
export function logEntry(order_no: number, epoch = 1, tag = 'a'): OrderRecordDto {
  return {
    order_no,
    epoch,
    request_id: `${tag}-${order_no}`,
    stock_name: 'Stock1',
    trade_type: 'buy',
    quantity: order_no,
    created_at: 1_700_000_000_000 + order_no,
  };
}
