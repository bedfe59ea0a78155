import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { ConfigService } from '@nestjs/config';
import { AckMode, OrderEnv, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { monotonicNow, Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { FaultInjector } from '../faults/fault-injector.service';
import { OrderLogService } from '../orders/order-log.service';
import { CommitTracker } from './commit-tracker';
import { FollowerLink } from './follower-link';

/**
 * Leader side of replication: one {@link FollowerLink} per follower pushes the log, a
 * {@link CommitTracker} turns their match positions into the commit and acknowledgement points,
 * and a heartbeat keeps idle followers in touch. Trades wait on {@link waitDurable}.
 *
 * How it relates to Raft's log replication:
 * - The same: each link keeps Raft's nextIndex/matchIndex; a sync is AppendEntries (the leader's
 *   epoch as its term, the entry before the batch as prevLogIndex/prevLogTerm, the commit point
 *   as leaderCommit); a follower refuses an older epoch, and a refusal as stale tells this leader
 *   a newer one exists. The commit point is the highest number a majority holds.
 * - The same, too: the leader sends new entries while it writes them (one group-committed SQLite
 *   transaction), and its own copy counts once written — two followers are a majority without it.
 * - Different: a follower that misses the entry before a batch fetches the gap from the leader
 *   itself (`GET /log`) instead of the leader walking nextIndex back one entry per round trip. Terms come from the front end's elections (the epoch), and a
 *   new leader catches up from the most advanced member of the majority that adopted its epoch
 *   instead of voters refusing a less advanced candidate. With `ORDER_ACK_MODE=leader` a trade
 *   is acknowledged once the leader alone holds it (not Raft; off by default).
 */
@Injectable()
export class ReplicatorService implements OnModuleDestroy {
  private readonly logger = new Logger(ReplicatorService.name);
  private links: FollowerLink[] = [];
  private tracker?: CommitTracker;
  private epoch = 0;
  /** How many times replication was started: the links of each start stop once a later one began (see {@link start}). */
  private generation = 0;
  /** When this replica started leading its epoch (counts as contact with a majority). */
  private startedAt = 0;
  private heartbeat?: NodeJS.Timeout;
  private highestFollowerMatch = 0;
  private readonly ackMode: AckMode;
  private readonly heartbeatMs: number;
  private readonly followerTimeoutMs: number;
  private readonly durabilityTimeoutMs: number;
  private readonly batchSize: number;
  private readonly spareEntries: number;
  private readonly rescueMs: number;
  /** The spares' rescue armed for the orders through `through`, and the followers counted on for them (see {@link kick}). */
  private rescue?: { timer: NodeJS.Timeout; through: number };
  /** Times the spares were sent new orders early: the followers counted on did not make them durable in time. */
  spareRescues = 0;
  private readonly appends: Subscription;

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
    this.spareEntries = config.get('SPARE_SYNC_ENTRIES', { infer: true });
    this.rescueMs = config.get('SPARE_RESCUE_MS', { infer: true });
    // New entries go to the followers as soon as they are numbered, while this replica writes them;
    // once written, this replica's copy counts.
    this.appends = log.leaderAppends$.subscribe((event) => (event === 'published' ? this.kick() : this.advanceCommit()));
  }

  get active(): boolean {
    return this.heartbeat !== undefined;
  }

  /** Replicas (this one included) that must hold an order before it is acknowledged. */
  get requiredAcks(): number {
    return this.ackMode === 'majority' ? this.state.majority : 1;
  }

  /**
   * Starts leading `epoch` (the replica is promoting to it): links to every follower and a
   * heartbeat. Each link sends from `from` (at most the log's end). The commit point moves only
   * to `ownFrom` or beyond: the entries before it were inherited from older epochs, and count as
   * committed only through the first one stamped with this epoch (see LeadershipService.adoptInherited).
   */
  start(epoch: number, from = Infinity, ownFrom = 0): void {
    this.stop('restarting replication');
    // The links of an earlier start (a promotion attempt before, in this epoch too) stop at their
    // next step, even once a later start has made the replicator active in the same epoch again.
    const generation = ++this.generation;
    this.epoch = epoch;
    this.startedAt = monotonicNow();
    const next = Math.max(1, Math.min(this.log.lastPosition().order_no + 1, from));
    const ctx = {
      leaderId: this.state.id,
      epoch,
      batchSize: this.batchSize,
      log: this.log,
      peers: this.peers,
      current: () => this.active && this.epoch === epoch && this.generation === generation,
      commitNo: () => this.state.commitNo,
      accepted: (_link: FollowerLink, through: number) => this.onAccepted(through),
      staleEpoch: (peer: ReplicaAddress) => this.onStaleEpoch(peer),
      failed: () => this.rescueSpares(),
    };
    this.links = this.state.peers.map((peer) => new FollowerLink(peer, next, ctx));
    this.tracker = new CommitTracker(this.state.replica, this.state.majority, this.requiredAcks, this.durabilityTimeoutMs, ownFrom);
    this.highestFollowerMatch = 0;
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.advanceCommit();
  }

  /**
   * Stops leading; every trade still waiting for durability is refused (the front end retries
   * elsewhere). Those trades were made at the catalog and logged: `not_leader`, which the front
   * end does not count among the refusals given before trading (unlike `stale_epoch`).
   */
  stop(reason: string): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.disarmRescue();
    this.links = [];
    this.tracker?.rejectAll(new Unavailable(`order replica stopped leading: ${reason}`, ReplicaRefusal.notLeader));
    this.tracker = undefined;
  }

  onModuleDestroy(): void {
    this.appends.unsubscribe();
    this.stop('shutting down');
  }

  /** Followers heard from recently. */
  reachableFollowers(): number {
    const now = monotonicNow();
    return this.links.filter((l) => now - l.lastContact <= this.followerTimeoutMs).length;
  }

  /**
   * How long, beyond FOLLOWER_TIMEOUT_MS, this leader has been out of contact with a majority
   * (majority − 1 followers have not accepted a sync for longer than that); 0 while it reaches one,
   * when it does not lead, and with `ORDER_ACK_MODE=leader` (where it acknowledges alone).
   * The health check gives up the job as soon as this is above 0, when trades are refused for
   * want of a majority (the same count as {@link reachableFollowers}).
   */
  quorumLostForMs(now = monotonicNow()): number {
    const need = this.state.majority - 1;
    if (!this.active || this.requiredAcks <= 1 || need <= 0) return 0;
    const contacts = this.links.map((l) => l.lastContact).sort((a, b) => b - a);
    const since = Math.max(this.startedAt, contacts[need - 1] ?? 0);
    return Math.max(0, now - since - this.followerTimeoutMs);
  }

  /**
   * Fails fast, before the catalog is touched, when too few replicas are reachable to make a
   * trade durable. Followers not heard from lately get fresh heartbeats first: up to two rounds.
   */
  async ensureQuorum(): Promise<void> {
    if (1 + this.reachableFollowers() >= this.requiredAcks) return;
    const epoch = this.epoch;
    // Two rounds before refusing: the first may share syncs that were under way while this leader
    // was paused (SIGSTOP, a stalled VM). It then reads the trade before its timers run, and
    // those syncs time out on timers that expired while it was not running: HopClient still reads
    // an answer that came meanwhile, but a sync whose request had not left before the pause has
    // none. Only a round begun now says whether a majority is reachable (or that a newer leader exists).
    for (let round = 0; round < 2 && 1 + this.reachableFollowers() < this.requiredAcks; round++) {
      await this.pumpUntilQuorum();
      if (!this.active || this.epoch !== epoch || this.state.epoch !== epoch) {
        // The followers refused our syncs because a newer leader exists: not a lack of replicas.
        throw new Unavailable(`replica ${this.state.id} no longer leads epoch ${epoch}`, ReplicaRefusal.staleEpoch);
      }
    }
    const reachable = 1 + this.reachableFollowers();
    if (reachable < this.requiredAcks) {
      throw new Unavailable(
        `only ${reachable} of ${this.state.peers.length + 1} order replicas are reachable; a trade needs ${this.requiredAcks} to be durable`,
        ReplicaRefusal.insufficientReplicas,
      );
    }
  }

  /**
   * Whether this replica still leads its epoch as of now (Raft's read index): true once
   * majority − 1 followers have accepted a sync sent after the call began, so that no newer
   * leader can have been elected by then without this one hearing of it. A leader cut off from
   * its followers, which keeps its role until it hears of a newer epoch, gets false. Up to two
   * rounds of syncs (the first may be shared with a push sent before the call), each bounded by
   * PEER_TIMEOUT_MS. A majority with `ORDER_ACK_MODE=leader` too: that mode acknowledges an order
   * on the leader's copy alone, so a newer leader may have acknowledged the very order a deposed
   * one, just resumed, would otherwise say does not exist.
   */
  async confirmLeading(): Promise<boolean> {
    const epoch = this.epoch;
    const current = () => this.active && this.epoch === epoch && this.state.epoch === epoch;
    const need = this.state.majority - 1;
    if (!current()) return false;
    if (need <= 0) return true;
    const links = this.links;
    const mark = new Map(links.map((l) => [l, l.sends]));
    const confirmed = () => links.filter((l) => l.acceptedSend > mark.get(l)!).length >= need;
    for (let round = 0; round < 2 && current() && !confirmed(); round++) {
      await this.pumpUntil(confirmed, links);
    }
    return current() && confirmed();
  }

  /** Pushes to every follower; resolves as soon as enough are reachable, or when every push is over. */
  private pumpUntilQuorum(): Promise<void> {
    return this.pumpUntil(() => 1 + this.reachableFollowers() >= this.requiredAcks);
  }

  /** Pushes to every follower of `links`; resolves as soon as `done()`, or when every push is over. */
  private pumpUntil(done: () => boolean, links = this.links): Promise<void> {
    return new Promise<void>((resolve) => {
      let pending = links.length;
      if (pending === 0) return resolve();
      for (const link of links) {
        void link.pump().finally(() => {
          pending--;
          if (pending === 0 || done()) resolve();
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
   * Leader only: per follower id, in seconds, how long its sync under way has awaited an answer
   * (0: none under way; it never exceeds PEER_TIMEOUT_MS by much, since the request times out) and
   * how long ago it last accepted one (since this replica began leading, if it has not yet).
   */
  followerTimes(now = monotonicNow()): { pending: [string, number][]; sinceContact: [string, number][] } {
    return {
      pending: this.links.map((l) => [String(l.peer.id), l.pendingMs(now) / 1000]),
      sinceContact: this.links.map((l) => [String(l.peer.id), Math.max(0, now - (l.lastContact || this.startedAt)) / 1000]),
    };
  }

  /**
   * Pushes new entries to the followers (on each leader append, see OrderLogService.appendNew). A
   * pump outlives the trade that kicked it and carries other trades' orders too, so its requests
   * carry no request id.
   *
   * Thrifty replication, as Paxos's thrifty mode: a majority needs majority − 1 followers besides
   * this replica, and only they are sent the entries at once; the spares get them
   * `SPARE_SYNC_ENTRIES` at a time, on the heartbeat (as every follower behind), or at once when
   * the majority cannot be made without them — see {@link rescueSpares}: a sync to a follower
   * counted on failed, an entry waited `SPARE_RESCUE_MS` for them, or this replica's own write was
   * not over when they had it. At one trade at a time each follower costs two wake-ups of its
   * process and one of this one's per order; a spare costs them once per batch. Nothing is
   * acknowledged sooner than a majority holds it: only who is asked first changes.
   */
  kick(): void {
    const { counted, spares } = this.split();
    for (const link of counted) void link.pump();
    if (spares.length > 0) {
      const last = this.log.lastPosition().order_no;
      for (const link of spares) if (last - link.nextNo + 1 >= this.spareEntries) void link.pump();
      if (spares.some((l) => l.nextNo <= last)) this.armRescue(last, counted);
    }
    this.advanceCommit();
  }

  /**
   * The followers sent new entries at once (`counted`) and the spares. Counted on: the
   * majority − 1 followers that accepted their last sync, were heard from within
   * FOLLOWER_TIMEOUT_MS and have no sync waiting longer than SPARE_RESCUE_MS, highest ids first (the
   * front end proposes the highest id as the next leader, which then has the least to catch up).
   * Everyone is counted on with `SPARE_SYNC_ENTRIES=0`, with `ORDER_ACK_MODE=leader` (the followers
   * are copies, not a majority to wait for) and when there is no follower to spare.
   */
  private split(): { counted: FollowerLink[]; spares: FollowerLink[] } {
    const need = this.state.majority - 1;
    if (this.spareEntries === 0 || this.ackMode !== 'majority' || need >= this.links.length) return { counted: this.links, spares: [] };
    const now = monotonicNow();
    const ranked = [...this.links].sort((a, b) => Number(this.dependable(b, now)) - Number(this.dependable(a, now)) || b.peer.id - a.peer.id);
    return { counted: ranked.slice(0, need), spares: ranked.slice(need) };
  }

  private dependable(link: FollowerLink, now: number): boolean {
    return link.suspectSince === 0 && now - link.lastContact <= this.followerTimeoutMs && link.pendingMs(now) <= this.rescueMs;
  }

  /**
   * Rescues the spares if the orders through `through` are not acknowledged within
   * SPARE_RESCUE_MS; the followers `counted` on that do not hold them by then are not counted on
   * until they accept a sync.
   */
  private armRescue(through: number, counted: FollowerLink[]): void {
    if (this.rescue) return;
    const timer = setTimeout(() => {
      this.rescue = undefined;
      if (this.state.replica.ackNo >= through) return;
      for (const link of counted) if (link.matchNo < through) link.overdue();
      this.rescueSpares();
    }, this.rescueMs);
    this.rescue = { timer, through };
  }

  private disarmRescue(): void {
    if (this.rescue) clearTimeout(this.rescue.timer);
    this.rescue = undefined;
  }

  /**
   * Sends the entries waiting for them to the followers behind that are not suspect: the
   * followers counted on did not make them durable. A follower whose sync failed is retried on the
   * heartbeat instead, so that two followers down do not retry each other in a loop; an overdue
   * one still has its sync under way.
   */
  private rescueSpares(): void {
    if (!this.active) return;
    const last = this.log.lastPosition().order_no;
    const behind = this.links.filter((l) => l.nextNo <= last && l.suspectSince === 0);
    // Counted when a sync leaves for it, not when every follower behind already has one under way.
    if (behind.some((l) => l.pendingMs() === 0)) this.spareRescues++;
    for (const link of behind) void link.pump();
  }

  /**
   * The heartbeat: a push to every follower that is behind or was not synced within the last
   * interval (under load the pushes that carry orders are the heartbeats).
   */
  private beat(): void {
    const now = monotonicNow();
    const last = this.log.lastPosition().order_no;
    for (const link of this.links) {
      if (link.nextNo <= last || now - link.lastContact >= this.heartbeatMs) void link.pump();
    }
  }

  /** Pushes to every follower and resolves when each push (or the one already under way) is over. */
  pumpAll(): Promise<void> {
    return Promise.all(this.links.map((l) => l.pump())).then(() => undefined);
  }

  /** Resolves once `orderNo` is durable on enough replicas; rejects with 503 after the durability timeout. */
  waitDurable(orderNo: number): Promise<void> {
    if (this.state.commitNo >= orderNo) return Promise.resolve();
    if (!this.tracker) return Promise.reject(new Unavailable('this replica is not leading', ReplicaRefusal.notLeader));
    return this.tracker.waitDurable(orderNo);
  }

  private onAccepted(through: number): void {
    if (through > this.highestFollowerMatch) {
      this.highestFollowerMatch = through;
      this.faults.reached('after-replicate-one');
    }
    this.advanceCommit();
    // This replica's own copy is not written yet (a slow disk): the majority needs a spare now.
    if (this.state.replica.ackNo < through && this.log.durableLastNo() < through) this.rescueSpares();
  }

  /** A follower knows a newer epoch: learn it from the peers (which deposes this leader). */
  private async onStaleEpoch(from: ReplicaAddress): Promise<void> {
    this.logger.warn(`replica ${from.id} refused a sync of epoch ${this.epoch} as stale`);
    const statuses = await this.peers.statuses(this.state.peers);
    const newest = statuses.map((s) => s.status).sort((a, b) => b.epoch - a.epoch)[0];
    if (newest && newest.epoch > this.epoch && newest.leader) {
      await this.state.acceptLeader(newest.epoch, newest.leader);
    }
  }

  private advanceCommit(): void {
    // The leader's own copy counts once written: a majority may be reached by followers first.
    this.tracker?.update(
      this.log.durableLastNo(),
      this.links.map((l) => l.matchNo),
    );
    if (this.rescue && this.state.replica.ackNo >= this.rescue.through) this.disarmRescue();
  }
}
