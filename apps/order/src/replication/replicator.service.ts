import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AckMode, OrderEnv, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderLogService } from '../orders/order-log.service';

interface FollowerLink {
  peer: ReplicaAddress;
  /** Highest order number known to be durable on the follower and equal to ours. */
  matchNo: number;
  /** Next order number to send; starts optimistic (our last + 1), the follower repairs gaps itself. */
  nextNo: number;
  /** When the follower last accepted a sync (ms since epoch); 0 = never this term. */
  lastContact: number;
  /**
   * The push under way, if any: at most one sync in flight per follower, so syncs stay in order;
   * it goes round again while entries were appended meanwhile (they travel together).
   */
  inflight?: Promise<void>;
}

interface Waiter {
  orderNo: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Leader side of replication. One link per follower pushes the log with `POST /sync` (batches
 * while behind, an empty heartbeat when idle), tracks what each follower holds, and advances the
 * commit point: the highest number durable on enough replicas (a majority by default, the leader
 * alone with `ORDER_ACK_MODE=leader`). Trades wait on {@link waitDurable} before acknowledging.
 */
@Injectable()
export class ReplicatorService implements OnModuleDestroy {
  private readonly logger = new Logger(ReplicatorService.name);
  private links: FollowerLink[] = [];
  private waiters: Waiter[] = [];
  private epoch = 0;
  /** When this replica started leading its epoch (counts as contact with a majority). */
  private startedAt = 0;
  private heartbeat?: NodeJS.Timeout;
  private highestFollowerMatch = 0;
  /** Highest order number that may be acknowledged (see {@link advanceCommit}). */
  private ackNo = 0;
  private readonly ackMode: AckMode;
  private readonly heartbeatMs: number;
  private readonly followerTimeoutMs: number;
  private readonly durabilityTimeoutMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly faults: FaultInjector,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.ackMode = config.get('ORDER_ACK_MODE', { infer: true });
    this.heartbeatMs = config.get('HEARTBEAT_INTERVAL_MS', { infer: true });
    this.followerTimeoutMs = config.get('FOLLOWER_TIMEOUT_MS', { infer: true });
    this.durabilityTimeoutMs = config.get('DURABILITY_TIMEOUT_MS', { infer: true });
    this.batchSize = config.get('SYNC_BATCH_SIZE', { infer: true });
  }

  get active(): boolean {
    return this.heartbeat !== undefined;
  }

  /** Replicas (this one included) that must hold an order before it is acknowledged. */
  get requiredAcks(): number {
    return this.ackMode === 'majority' ? this.state.majority : 1;
  }

  /** Starts leading `epoch`: links to every follower and a heartbeat. */
  start(epoch: number): void {
    this.stop('restarting replication');
    this.epoch = epoch;
    this.startedAt = Date.now();
    const next = this.log.lastPosition().order_no + 1;
    this.links = this.state.peers.map((peer) => ({ peer, matchNo: 0, nextNo: next, lastContact: 0 }));
    this.highestFollowerMatch = 0;
    this.ackNo = 0;
    this.state.commitNo = Math.max(this.state.commitNo, this.log.getMeta('commit_no'));
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.advanceCommit();
  }

  /** Stops leading; every trade still waiting for durability is refused (the front end retries elsewhere). */
  stop(reason: string): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.links = [];
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Unavailable(`order replica stopped leading: ${reason}`, ReplicaRefusal.staleEpoch));
    }
  }

  onModuleDestroy(): void {
    this.stop('shutting down');
  }

  /** Followers heard from recently. */
  reachableFollowers(): number {
    const now = Date.now();
    return this.links.filter((l) => now - l.lastContact <= this.followerTimeoutMs).length;
  }

  /**
   * How long, beyond FOLLOWER_TIMEOUT_MS, this leader has been out of contact with a majority
   * (majority − 1 followers have not accepted a sync for longer than that); 0 while it reaches one,
   * when it does not lead, and with `ORDER_ACK_MODE=leader` (where it acknowledges alone).
   * The health check gives up the job when this exceeds FOLLOWER_TIMEOUT_MS.
   */
  quorumLostForMs(now = Date.now()): number {
    const need = this.state.majority - 1;
    if (!this.active || this.requiredAcks <= 1 || need <= 0) return 0;
    const contacts = this.links.map((l) => l.lastContact).sort((a, b) => b - a);
    const since = Math.max(this.startedAt, contacts[need - 1] ?? 0);
    return Math.max(0, now - since - this.followerTimeoutMs);
  }

  /**
   * Fails fast, before the catalog is touched, when too few replicas are reachable to make a
   * trade durable. A follower not heard from lately gets one fresh heartbeat first.
   */
  async ensureQuorum(): Promise<void> {
    if (1 + this.reachableFollowers() >= this.requiredAcks) return;
    const epoch = this.epoch;
    await this.pumpUntilQuorum();
    if (!this.active || this.epoch !== epoch || this.state.epoch !== epoch) {
      // The followers refused our syncs because a newer leader exists: not a lack of replicas.
      throw new Unavailable(`replica ${this.state.id} no longer leads epoch ${epoch}`, ReplicaRefusal.staleEpoch);
    }
    const reachable = 1 + this.reachableFollowers();
    if (reachable < this.requiredAcks) {
      throw new Unavailable(
        `only ${reachable} of ${this.state.peers.length + 1} order replicas are reachable; a trade needs ${this.requiredAcks} to be durable`,
        ReplicaRefusal.insufficientReplicas,
      );
    }
  }

  /** Pushes to every follower; resolves as soon as enough are reachable, or when every push is over. */
  private pumpUntilQuorum(): Promise<void> {
    return new Promise<void>((resolve) => {
      let pending = this.links.length;
      if (pending === 0) return resolve();
      for (const link of this.links) {
        void this.pump(link).finally(() => {
          pending--;
          if (pending === 0 || 1 + this.reachableFollowers() >= this.requiredAcks) resolve();
        });
      }
    });
  }

  /** Leader only: per follower id, how many orders of this log it has not confirmed. */
  lag(): [string, number][] {
    const last = this.log.lastPosition().order_no;
    return this.links.map((l) => [String(l.peer.id), Math.max(0, last - l.matchNo)]);
  }

  /**
   * Pushes new entries to every follower now (called after each append). A pump outlives the
   * trade that kicked it and carries other trades' orders too, so its requests carry no request id.
   */
  kick(): void {
    for (const link of this.links) void this.pump(link);
    this.advanceCommit();
  }

  /**
   * The heartbeat: a push to every follower that is behind or was not synced within the last
   * interval (under load the pushes that carry orders are the heartbeats).
   */
  private beat(): void {
    const now = Date.now();
    const last = this.log.lastPosition().order_no;
    for (const link of this.links) {
      if (link.nextNo <= last || now - link.lastContact >= this.heartbeatMs) void this.pump(link);
    }
  }

  /** Pushes to every follower and resolves when each push (or the one already under way) is over. */
  pumpAll(): Promise<void> {
    return Promise.all(this.links.map((l) => this.pump(l))).then(() => undefined);
  }

  private pump(link: FollowerLink): Promise<void> {
    if (!this.active) return Promise.resolve();
    if (link.inflight) return link.inflight;
    link.inflight = this.push(link).finally(() => (link.inflight = undefined));
    return link.inflight;
  }

  /** Resolves once `orderNo` is durable on enough replicas; rejects with 503 after the durability timeout. */
  waitDurable(orderNo: number): Promise<void> {
    if (this.state.commitNo >= orderNo || this.ackNo >= orderNo) return Promise.resolve();
    if (!this.active) return Promise.reject(new Unavailable('this replica is not leading', ReplicaRefusal.notLeader));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        orderNo,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(
            new Unavailable(
              `order ${orderNo} is not yet durable on ${this.requiredAcks} replicas`,
              ReplicaRefusal.notDurable,
            ),
          );
        }, this.durabilityTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private async push(link: FollowerLink): Promise<void> {
    const epoch = this.epoch;
    try {
      for (;;) {
        if (!this.active || this.epoch !== epoch) return;
        const last = this.log.lastPosition();
        const prevNo = link.nextNo - 1;
        const batch = link.nextNo <= last.order_no ? await this.log.page(prevNo, this.batchSize) : [];
        const prevEpoch =
          prevNo === 0 ? 0 : prevNo === last.order_no ? last.epoch : ((await this.log.find(prevNo))?.epoch ?? 0);
        const res = await this.peers.sync(link.peer, {
          leader: this.state.id,
          epoch,
          commit_no: this.state.commitNo,
          reconciled_seq: this.log.getMeta('reconciled_seq'),
          prev: { order_no: prevNo, epoch: prevEpoch },
          orders: batch,
        });
        if (res.status !== 200) {
          if (res.data?.code === ReplicaRefusal.staleEpoch) await this.onStaleEpoch(link.peer);
          return; // recovering or refusing: retried on the next heartbeat
        }
        link.lastContact = Date.now();
        const through = batch.length > 0 ? batch[batch.length - 1].order_no : prevNo;
        link.matchNo = Math.max(link.matchNo, through);
        link.nextNo = through + 1;
        if (through > this.highestFollowerMatch) {
          this.highestFollowerMatch = through;
          this.faults.reached('after-replicate-one');
        }
        this.advanceCommit();
        if (link.nextNo > this.log.lastPosition().order_no) return;
      }
    } catch (err) {
      this.logger.debug(`sync to replica ${link.peer.id} failed: ${(err as Error).message}`);
    }
  }

  /** A follower knows a newer epoch: learn it from the peers (which deposes this leader). */
  private async onStaleEpoch(from: ReplicaAddress): Promise<void> {
    this.logger.warn(`replica ${from.id} refused a sync of epoch ${this.epoch} as stale`);
    const statuses = await this.peers.statuses(this.state.peers);
    const newest = statuses.map((s) => s.status).sort((a, b) => b.epoch - a.epoch)[0];
    if (newest && newest.epoch > this.epoch && newest.leader) {
      await this.state.observeEpoch(newest.epoch, newest.leader);
    }
  }

  /**
   * Two points move as followers acknowledge. The commit point is the highest number a majority
   * holds: such entries can never be dropped by recovery, and followers skip re-checking them.
   * The acknowledgement point is the highest number `requiredAcks` replicas hold (the same with
   * the default majority; the leader's own log with `ORDER_ACK_MODE=leader`): trades waiting
   * for it are answered.
   */
  private advanceCommit(): void {
    const held = [this.log.lastPosition().order_no, ...this.links.map((l) => l.matchNo)].sort((a, b) => b - a);
    this.state.commitNo = Math.max(this.state.commitNo, held[this.state.majority - 1] ?? 0);
    this.ackNo = Math.max(this.ackNo, held[this.requiredAcks - 1] ?? 0);
    const done = this.waiters.filter((w) => w.orderNo <= this.ackNo);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.orderNo > this.ackNo);
    for (const w of done) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }
}
