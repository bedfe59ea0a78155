import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ReplicaStatus } from '@app/contracts';
import { http, placeOrder, waitFor, type Cluster } from '@app/testkit';
import { cannon } from '../bench/cannon';
import { median, tradeBody } from '../bench/scenarios';
import { withCluster } from '../common/cluster-run';
import { BENCH_CLUSTER } from '../common/cluster-settings';
import { machineInfo } from '../common/environment';
import { formatMachine, timestamp } from '../common/format';
import { checkpoint, Interrupted, type Lifecycle } from '../common/lifecycle';

export interface FailoverOptions {
  /** Leader SIGKILLs to time. */
  kills: number;
  /** Orders a stopped replica misses before its restart is timed; 0 skips that part. */
  catchUpOrders: number;
  /** Whole-cluster restarts to time once the log is filled (0 skips them; none without the catch-up's orders). */
  clusterRestarts: number;
  outDir: string;
  /** A built checkout whose apps the cluster runs (default: this one), to time an earlier commit with this bench. */
  build?: string;
}

export const FAILOVER_DEFAULTS = { kills: 10, catchUpOrders: 50_000, clusterRestarts: 1, outDir: 'results' } as const;

export interface FailoverRecord {
  kind: 'failover';
  started_at: string;
  machine: ReturnType<typeof machineInfo>;
  cluster_env: Record<string, string>;
  /** Per kill: SIGKILL of the leader → the first trade sent after it acknowledged, in ms. */
  failover_ms: number[];
  failover_p50_ms: number | null;
  catch_up: { orders_missed: number; restart_to_ready_ms: number } | null;
  /**
   * The same replica once caught up and in step with the leader (its commit point covers the whole
   * log), SIGKILLed and restarted at once: its restart → ready when it missed nothing, what a
   * restart costs for the log it holds.
   */
  restart_holding: { orders_held: number; restart_to_ready_ms: number } | null;
  /**
   * Every replica SIGKILLed, then all three started at once (as `npm start` starts them): per
   * restart, start → every replica ready, and → the first trade acknowledged (the front end, left
   * running, elects a leader among them).
   */
  cluster_restarts: { orders_held: number; all_ready_ms: number; first_trade_ms: number }[];
  /** The build whose apps ran, when not this checkout's (`--build`). */
  build: string | null;
  error: string | null;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Longest a failover may take before the run is called failed. */
const FIRST_TRADE_DEADLINE_MS = 60_000;

async function status(cluster: Cluster, id: number): Promise<ReplicaStatus | null> {
  const res = await cluster.internal<ReplicaStatus>(`${cluster.replica(id)}/replication/status`, { timeoutMs: 2000 }).catch(() => null);
  return res?.status === 200 ? res.body : null;
}

/**
 * One trade, sent right after the leader was killed, and sent again (same key) until it is
 * acknowledged: the front end holds it while it elects and the new leader promotes, so its
 * latency is the failover as a client sees it.
 */
async function firstTradeAfter(cluster: Cluster, n: number, signal: AbortSignal): Promise<void> {
  const body = JSON.parse(tradeBody(n)) as { stock_name: string; trade_type: 'buy' | 'sell'; quantity: number };
  const deadline = Date.now() + FIRST_TRADE_DEADLINE_MS;
  for (;;) {
    checkpoint(signal);
    if (Date.now() > deadline) throw new Error(`no trade acknowledged within ${FIRST_TRADE_DEADLINE_MS} ms of the kill`);
    const res = await placeOrder(cluster.frontend, body, `failover-${n}`).catch(() => null);
    if (res === null) continue; // no answer in time: the same key again
    if (res.status === 200) return;
    if (res.status !== 503) throw new Error(`the trade after the kill answered ${res.status}: ${res.text}`);
  }
}

/**
 * `npm run bench:failover`: on a fresh cluster with the apps' default settings, times
 * - `kills` times: SIGKILL of the leader → the first trade after it acknowledged (the killed
 *   replica is restarted and caught up before the next kill);
 * - a replica stopped while `catchUpOrders` orders are placed: its restart → ready (it fetches
 *   what it missed before it serves);
 * - that replica, now holding the whole log, SIGKILLed and restarted at once: its restart → ready;
 * - `clusterRestarts` times: every replica SIGKILLed and all started at once → every one ready,
 *   and → the first trade acknowledged.
 */
export async function runFailover(options: FailoverOptions, life: Lifecycle, log: (text: string) => void, print: (text: string) => void): Promise<number> {
  const { signal, children } = life;
  const started = new Date();
  const record: FailoverRecord = {
    kind: 'failover',
    started_at: started.toISOString(),
    machine: machineInfo(),
    cluster_env: BENCH_CLUSTER.env,
    failover_ms: [],
    failover_p50_ms: null,
    catch_up: null,
    restart_holding: null,
    cluster_restarts: [],
    build: options.build ?? null,
    error: null,
  };
  log(`machine: ${formatMachine(record.machine)}\nstarting a fresh cluster (the apps' default settings)…\n`);
  try {
    await withCluster({ ...BENCH_CLUSTER, root: options.build === undefined ? undefined : resolve(options.build) }, children, async (cluster) => {
      let n = 0;
      for (let k = 1; k <= options.kills; k++) {
        checkpoint(signal);
        const leader = await cluster.waitLeading();
        await Promise.all([1, 2, 3].map((id) => cluster.waitReady(id)));
        await firstTradeAfter(cluster, n++, signal); // the path is warm
        const killedAt = performance.now();
        await cluster.kill(`order-${leader}`);
        await firstTradeAfter(cluster, n++, signal);
        const ms = round(performance.now() - killedAt);
        record.failover_ms.push(ms);
        log(`kill ${k}/${options.kills}: leader ${leader} SIGKILLed → first trade acknowledged after ${ms} ms\n`);
        await cluster.startReplica(leader);
      }
      if (options.catchUpOrders > 0) {
        const leader = await cluster.waitLeading();
        await Promise.all([1, 2, 3].map((id) => cluster.waitReady(id)));
        const follower = [1, 2, 3].find((id) => id !== leader)!;
        await cluster.kill(`order-${follower}`);
        const from = (await status(cluster, leader))?.last_no ?? 0;
        log(`replica ${follower} stopped; placing ${options.catchUpOrders} orders at 64 connections…\n`);
        const target = { url: cluster.frontend, method: 'POST' as const, path: '/orders', headers: { 'content-type': 'application/json' }, bodyFor: tradeBody };
        let missed = 0;
        while (missed < options.catchUpOrders) {
          await cannon(target, { connections: 64, durationS: 5, signal });
          missed = ((await status(cluster, leader))?.last_no ?? from) - from;
          log(`  ${missed} orders\n`);
        }
        const startedAt = performance.now();
        await cluster.startReplica(follower);
        await cluster.waitReady(follower, 120_000);
        record.catch_up = { orders_missed: missed, restart_to_ready_ms: round(performance.now() - startedAt) };
        log(`replica ${follower} restarted having missed ${missed} orders: ready after ${record.catch_up.restart_to_ready_ms} ms\n`);
        // In step with the leader first, as a replica that has been running is: it knows the
        // commit point covers what it holds (a restart compares its log from just below that).
        const held = (await status(cluster, leader))?.last_no ?? 0;
        await waitFor(`replica ${follower} to learn the commit point`, async () => ((await status(cluster, follower))?.commit_no ?? 0) >= held, 30_000);
        await cluster.kill(`order-${follower}`);
        const restartedAt = performance.now();
        await cluster.startReplica(follower);
        await cluster.waitReady(follower, 120_000);
        record.restart_holding = { orders_held: held, restart_to_ready_ms: round(performance.now() - restartedAt) };
        log(`replica ${follower}, holding ${held} orders, SIGKILLed and restarted at once: ready after ${record.restart_holding.restart_to_ready_ms} ms\n`);
        for (let k = 1; k <= options.clusterRestarts; k++) {
          checkpoint(signal);
          const leading = await cluster.waitLeading();
          await Promise.all([1, 2, 3].map((id) => cluster.waitReady(id)));
          const holding = (await status(cluster, leading))?.last_no ?? 0;
          // Every replica in step first: none has a tail to fetch, so this is what the logs held cost.
          await waitFor('every replica to learn the commit point', async () => (await Promise.all([1, 2, 3].map((id) => status(cluster, id)))).every((s) => (s?.commit_no ?? 0) >= holding), 30_000);
          for (const id of [1, 2, 3]) await cluster.kill(`order-${id}`);
          const startedAt = performance.now();
          await Promise.all([1, 2, 3].map((id) => cluster.startReplica(id)));
          await Promise.all([1, 2, 3].map((id) => cluster.waitReady(id, 120_000)));
          const allReady = round(performance.now() - startedAt);
          await firstTradeAfter(cluster, n++, signal);
          const restart = { orders_held: holding, all_ready_ms: allReady, first_trade_ms: round(performance.now() - startedAt) };
          record.cluster_restarts.push(restart);
          log(`whole cluster ${k}/${options.clusterRestarts}, holding ${holding} orders, SIGKILLed and started at once: every replica ready after ${allReady} ms, first trade after ${restart.first_trade_ms} ms\n`);
        }
      }
    });
  } catch (err) {
    if (err instanceof Interrupted || signal.aborted) return 130;
    record.error = err instanceof Error ? err.message : String(err);
    log(`error: ${record.error}\n`);
  }
  const p50 = median(record.failover_ms);
  record.failover_p50_ms = p50 === null ? null : round(p50);
  await mkdir(resolve(options.outDir), { recursive: true });
  const file = resolve(options.outDir, `failover-${timestamp(started)}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, 'utf8');
  const sorted = [...record.failover_ms].sort((a, b) => a - b);
  print(
    `failover (leader SIGKILL → first trade acknowledged), ${sorted.length} kills: p50 ${record.failover_p50_ms ?? '-'} ms, ` +
      `min ${sorted[0] ?? '-'} ms, max ${sorted.at(-1) ?? '-'} ms\n` +
      (record.catch_up ? `catch-up: ${record.catch_up.orders_missed} orders missed → ready ${record.catch_up.restart_to_ready_ms} ms after restart\n` : '') +
      (record.restart_holding ? `restart holding ${record.restart_holding.orders_held} orders, none missed → ready ${record.restart_holding.restart_to_ready_ms} ms after restart\n` : '') +
      (record.cluster_restarts.length > 0
        ? `whole-cluster restart holding ${record.cluster_restarts[0].orders_held} orders → every replica ready, median of ${record.cluster_restarts.length}: ` +
          `${median(record.cluster_restarts.map((r) => r.all_ready_ms))} ms (first trade ${median(record.cluster_restarts.map((r) => r.first_trade_ms))} ms)\n`
        : ''),
  );
  log(`written to ${file}\n`);
  return record.error === null ? 0 : 1;
}
