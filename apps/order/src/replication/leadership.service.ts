import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Subscription } from 'rxjs';
import { OrderEnv, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { InvalidInput, monotonicNow, Unavailable } from '@app/common';
import { START_QUIET_MS } from '../cluster/start-quiet';
import { ClusterStateService, mostAdvancedPeer } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { DiskHealthService } from '../orders/disk-health.service';
import { OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from '../recovery/catch-up.service';
import { RecoveryService } from '../recovery/recovery.service';
import { ReconcilerService } from './reconciler.service';
import { ReplicatorService } from './replicator.service';
import { setTimeout as sleep } from 'node:timers/promises';

const RETRY_MS = 250;

/** Fewer than a majority adopted the epoch a candidate asked for: it cannot lead (yet). */
class NoMajority extends Error {}

/**
 * A replica's life cycle: recovering → follower ⇄ promoting → leader (recovery: RecoveryService).
 *
 * - When the front end names it leader of a new epoch it first catches up with the most advanced
 *   live replica, starts replicating, records any catalog trade missing from the log, and only
 *   then takes trades.
 * - Learning a newer epoch led by another replica deposes it: replication stops, waiting trades
 *   are refused, and it recovers from the new leader.
 * - A candidate that cannot get a majority to adopt its epoch within `2 × PEER_TIMEOUT_MS` steps
 *   back (recovers, as a follower), so that the front end proposes the next one.
 * - {@link quorumRefusal} (for `/ping`): a leader out of contact with a majority for
 *   `FOLLOWER_TIMEOUT_MS`, and a follower that reaches fewer than majority − 1 peers, say they
 *   are not ready, so that the front end elects a replica on the majority side of a partition.
 */
@Injectable()
export class LeadershipService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LeadershipService.name);
  private readonly subscriptions: Subscription[] = [];
  private stopped = false;
  private readonly followerTimeoutMs: number;
  private readonly peerTimeoutMs: number;
  /** When this replica last reached majority − 1 peers (follower side of {@link quorumRefusal}). */
  private reachedMajorityAt = 0;
  private reaching?: Promise<number>;
  /** Settles when the promotion under way has finished (caught up and reconciled) or given up. */
  private promotion: Promise<void> = Promise.resolve();
  /** Promotions begun so far: only the latest one acts (see promote). */
  private promotions = 0;
  private readonly startedAt = monotonicNow();

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly catchUp: CatchUpService,
    private readonly replicator: ReplicatorService,
    private readonly reconciler: ReconcilerService,
    private readonly recovery: RecoveryService,
    private readonly disk: DiskHealthService,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.followerTimeoutMs = config.get('FOLLOWER_TIMEOUT_MS', { infer: true });
    this.peerTimeoutMs = config.get('PEER_TIMEOUT_MS', { infer: true });
  }

  /** How long a candidate keeps asking for a majority, or retrying a promotion that fails for another reason, before it steps back. */
  get stepBackAfterMs(): number {
    return 2 * this.peerTimeoutMs;
  }

  /**
   * Why this replica must neither keep leading nor be proposed, for `/ping`: it cannot reach a
   * majority of the replicas (itself included). Undefined when it can, or when that is not its
   * problem (recovering: `/ping` says so already; promoting: bounded by the step-back, whatever keeps it from finishing).
   * - Leader: no majority − 1 followers accepted a sync for `FOLLOWER_TIMEOUT_MS` (from when it
   *   began leading; never with `ORDER_ACK_MODE=leader`): from the moment it starts refusing
   *   trades for want of a majority (see ReplicatorService.ensureQuorum), so that the front end
   *   moves them to a replica that has one instead of retrying here. It keeps refusing trades it
   *   cannot make durable, and steps down when it learns of a newer epoch.
   * - Follower: fewer than majority − 1 peers answer its status call (within `FOLLOWER_TIMEOUT_MS`
   *   / 2), asked at most once per `FOLLOWER_TIMEOUT_MS` (a success is remembered that long).
   */
  async quorumRefusal(now = monotonicNow()): Promise<string | undefined> {
    const need = this.state.majority - 1;
    const n = this.state.peers.length + 1;
    if (this.state.role === 'leader') {
      const lost = this.replicator.quorumLostForMs(now);
      if (lost <= 0) return undefined;
      return `leader cannot reach a majority: ${1 + this.replicator.reachableFollowers()} of ${n} replicas reachable for ${lost + this.followerTimeoutMs} ms`;
    }
    if (this.state.role !== 'follower' || need <= 0) return undefined;
    if (now - this.reachedMajorityAt <= this.followerTimeoutMs) return undefined;
    const reached = await (this.reaching ??= this.reachPeers(need).finally(() => (this.reaching = undefined)));
    if (reached >= need) return undefined;
    return `cannot reach a majority: ${1 + reached} of ${n} replicas reachable`;
  }

  /** How many peers answer a status call (stops counting at `enough`); remembers a success. */
  private async reachPeers(enough: number): Promise<number> {
    const bound = Math.max(1, Math.min(this.peerTimeoutMs, Math.floor(this.followerTimeoutMs / 2)));
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      this.peers.statuses(this.state.peers, enough).then((a) => a.length, () => 0),
      new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), bound))),
    ]).finally(() => clearTimeout(timer));
    if (answered >= enough) this.reachedMajorityAt = monotonicNow();
    return answered;
  }

  onApplicationBootstrap(): void {
    this.subscriptions.push(
      this.state.deposed$.subscribe(() => this.stepDown('a newer epoch has a different leader')),
      // A leader that cannot write cannot make trades durable: another replica should lead.
      this.disk.failed$.subscribe((message) => {
        if (this.state.replica.leading) this.logger.warn(`stepping down: its database cannot be written (${message})`);
        this.stepDown('its database cannot be written');
      }),
      // Entries it sent but could not write: their numbers may be on a follower, never to be reused.
      this.log.unwritten$.subscribe((message) => {
        if (this.state.replica.leading) this.logger.warn(`stepping down: ${message}`);
        this.stepDown('its own write of orders it sent failed');
      }),
      // An entry of its file that no follower can put back (see RecoveryService): the next leader can.
      this.recovery.cannotRepairWhileLeading$.subscribe((message) => {
        if (this.state.replica.leading) this.logger.warn(`stepping down: ${message}`);
        this.stepDown('an entry of its file does not match its checksum');
      }),
    );
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.subscriptions.forEach((s) => s.unsubscribe());
    this.replicator.stop('shutting down');
    this.reconciler.stop();
  }

  /** `GET /leader?leader=&epoch=`: the front end announces an election result. */
  async onLeaderNotice(leader: number, epoch: number): Promise<void> {
    // A notice that cannot be right whatever the cluster's state: the front end's replica list and this one's differ.
    if (leader !== this.state.id && !this.state.peer(leader)) throw new InvalidInput(`unknown replica ${leader}: not among this replica's ORDER_REPLICAS`);
    const diskProblem = leader === this.state.id ? this.disk.problem() : undefined;
    if (diskProblem) throw new Unavailable(`replica ${this.state.id} cannot lead: ${diskProblem}`, ReplicaRefusal.diskFailing);
    // Its file is new or was emptied: it may have voted in, or led, this very epoch before (see ReplicaState.rejoining).
    if (this.state.replica.rejoining) {
      throw new Unavailable(`replica ${this.state.id} is rejoining after its file was lost or created: it adopts no epoch until it has learnt the cluster's from its peers`, ReplicaRefusal.notReady);
    }
    if (leader === this.state.id && this.state.role === 'recovering') {
      throw new Unavailable(`replica ${this.state.id} is still recovering`, ReplicaRefusal.notReady);
    }
    if (!(await this.state.grantVote(epoch, leader))) {
      throw new Unavailable(`epoch ${epoch} is stale (current ${this.state.epoch})`, ReplicaRefusal.staleEpoch);
    }
    // A follower named leader is promoted; so is a leader named again in a newer epoch (its
    // followers would refuse syncs of the old one). The same announcement twice (two front ends
    // naming it for one epoch at once) changes nothing the second time.
    if (leader === this.state.id && !this.state.replica.leadsEpoch(epoch)) {
      // Stepped down meanwhile (deposed, cut off): the vote stands, but it cannot lead it now.
      if (this.state.role === 'recovering') throw new Unavailable(`replica ${this.state.id} is recovering`, ReplicaRefusal.notReady);
      // Its vote named itself, but another candidate won this epoch (two front ends handed out the
      // same number) and this replica follows it now: the announcement is of an epoch it lost.
      const winner = this.state.replica.leader;
      if (winner !== this.state.id) throw new Unavailable(`epoch ${epoch} is led by replica ${winner}`, ReplicaRefusal.staleEpoch);
      const begun = await this.state.beginPromotion(epoch);
      if (begun === 'refused') {
        // What changed while it waited for the log lock, if anything.
        if (!this.state.replica.ready) throw new Unavailable(`replica ${this.state.id} is recovering`, ReplicaRefusal.notReady);
        if (this.state.epoch !== epoch || this.state.replica.leader !== this.state.id) {
          throw new Unavailable(`epoch ${epoch} is stale (current ${this.state.epoch}, led by replica ${this.state.replica.leader})`, ReplicaRefusal.staleEpoch);
        }
        // It led this epoch before and stepped down (its own write failed, say, after followers
        // got entries it then lost): leading it again could number other orders at those numbers
        // under the same stamp. The front end names it again in a newer epoch.
        throw new Unavailable(`replica ${this.state.id} led epoch ${epoch} before and stepped down: it leads no epoch twice, only a newer one`, ReplicaRefusal.staleEpoch);
      }
      if (begun === 'begun') this.promote(epoch);
    }
  }

  /** Waits for a promotion under way; refuses unless this replica then leads `epoch`. */
  async assertLeading(epoch: number): Promise<void> {
    if (this.state.role === 'promoting') await this.promotion;
    if (epoch < this.state.epoch) {
      throw new Unavailable(`epoch ${epoch} is stale (current ${this.state.epoch})`, ReplicaRefusal.staleEpoch);
    }
    if (this.state.role !== 'leader' || epoch !== this.state.epoch) {
      throw new Unavailable(`replica ${this.state.id} is not the leader of epoch ${epoch}`, ReplicaRefusal.notLeader);
    }
    // A leader named again in a newer epoch, whose promotion to it has not begun yet (it waits for
    // the log lock to write `led_epoch`): it appends nothing in that epoch yet, so the trade must
    // not reach the catalog. Refused before trading; the front end asks again.
    if (!this.state.replica.mayAppendAsLeader(epoch)) {
      throw new Unavailable(`replica ${this.state.id} is about to promote to epoch ${epoch}`, ReplicaRefusal.notReady);
    }
  }

  /** Runs the promotion to `epoch`, once the replica has begun it (see ClusterStateService.beginPromotion). */
  private promote(epoch: number): void {
    const run = ++this.promotions;
    /**
     * This promotion is still the one under way: the replica promotes to its epoch, and no later
     * promotion began, whose steps this one must neither undo (stop its replication) nor finish for
     * it (become leader). A later one is to a newer epoch (no epoch is begun twice), which the
     * epoch check alone tells apart; the counter makes it plain.
     */
    const current = () => !this.stopped && run === this.promotions && this.state.role === 'promoting' && this.state.epoch === epoch;
    this.promotion = (async () => {
      /** When a majority last adopted this epoch (the promotion's start counts). */
      let majorityAt = monotonicNow();
      /** When the first failure for another reason came (a catch-up, the reconciler's catalog, a write). */
      let failingSince: number | undefined;
      while (current()) {
        try {
          // Every committed order is on a majority, so the most advanced log among any majority
          // (this replica and majority − 1 peers) holds all of them: no need to wait for the rest.
          // Those peers must have adopted this epoch first (Raft's votes): a replica that adopted
          // it applies no sync of an older epoch, so the old leader cannot commit an order with
          // them after their logs were read — an order this catch-up would miss and this leader
          // would then overwrite at the same number. (Asked before taking the log lock: a peer's
          // adoption takes its own.)
          const voters = await this.adoptedBy(epoch, this.state.majority - 1);
          let resend = { from: 1, ownFrom: 0 };
          if (voters.length < this.state.majority - 1) {
            throw new NoMajority(`only ${voters.length} peer(s) adopted epoch ${epoch}; ${this.state.majority - 1} needed`);
          }
          await this.log.exclusive(async () => {
            const answered = (await this.peers.statuses(voters)).filter((p) => p.status.epoch === epoch);
            if (answered.length < this.state.majority - 1) {
              throw new NoMajority(`only ${answered.length} peer(s) adopted epoch ${epoch} and answered; ${this.state.majority - 1} needed`);
            }
            majorityAt = monotonicNow();
            const best = mostAdvancedPeer(answered, this.state.status());
            if (best) await this.catchUp.catchUpFrom(best.peer, true);
            resend = await this.adoptInherited(epoch, answered.map((p) => p.status.commit_no));
          });
          if (!current()) return;
          this.replicator.start(epoch, resend.from, resend.ownFrom);
          await this.reconciler.runOnce();
          if (!current()) return;
          this.reconciler.start();
          this.state.replica.becomeLeader(epoch);
          this.logger.log(`leading epoch ${epoch} from order ${this.log.lastPosition().order_no}`);
          return;
        } catch (err) {
          // Superseded or no longer promoting: nothing of this attempt's is left to undo or retry.
          if (!current()) return;
          // A failed attempt's replication stops before the next one: that one may catch up more
          // inherited entries (a voter more advanced than this attempt's) and stamp them anew, and
          // the links and commit count of this attempt, started for the log as it stood, must not
          // send or count those meanwhile.
          this.replicator.stop(`promotion to epoch ${epoch} retried`);
          // Bounded either way: a candidate stuck in its promotion still answers `/ping` (see
          // quorumRefusal), so the front end would keep it, and keep its trades waiting, for ever.
          // Stepping back lets the front end propose another replica, which may reach what this
          // one cannot (the catalog, say); this one is proposed last next time.
          const now = monotonicNow();
          const noMajority = err instanceof NoMajority;
          if (!noMajority) failingSince ??= now;
          const stuckFor = noMajority ? now - majorityAt : now - failingSince!;
          if (stuckFor >= this.stepBackAfterMs) {
            this.logger.warn(`stepping back from epoch ${epoch}: ${(err as Error).message} for ${stuckFor} ms`);
            this.stepDown(noMajority ? 'no majority adopted its epoch' : 'its promotion kept failing');
            return;
          }
          // Right after this process started, its siblings are likely still starting (the catalog
          // not listening yet, under `npm start`): expected, said at info (see START_QUIET_MS).
          const level = now - this.startedAt < START_QUIET_MS ? 'log' : 'warn';
          this.logger[level](`promotion to epoch ${epoch} not finished yet: ${(err as Error).message}`);
          await sleep(RETRY_MS);
        }
      }
    })();
  }

  /**
   * Under the lock, once caught up: stamps the last entry this new leader inherited above the
   * commit point with its own epoch, before it sends any (Raft's "Figure 8" problem, in this log's
   * terms). Returns where replication starts from, and the first number the leader may count
   * committed by itself.
   *
   * Logs are compared by their last entry's epoch, then its number. That is sound while an entry
   * stamped E at number n says its log holds leader E's whole log up to n — Raft's log matching,
   * with entries stamped E only from where leader E's own entries begin. Raft begins them with a
   * no-op of the new term; an order number cannot be spent on a no-op here, so the last inherited
   * entry takes the new stamp instead (its order unchanged; a follower that holds it takes the
   * stamp, see OrderLogService.restamp), and the entries before it keep theirs. Stamping all of
   * them would break log matching: a follower holding only a prefix of the range under the new
   * stamp (a sync cut at SYNC_BATCH_SIZE, a catch-up stopped between pages) would compare as
   * holding all of it, win an election against a replica that does, and drop the rest.
   *
   * As in Raft, the inherited entries count as committed only through the stamped one: an older
   * entry held by a majority may still be replaced by a replica whose log ends in an epoch between
   * the two. So the commit point stays below the inherited range until a majority holds its last
   * entry (`ownFrom`).
   *
   * Every follower is sent the entries after the commit point once more (`from`), so that each
   * takes the new stamp — also one that counts some of them committed already (a follower only
   * compares entries after its own commit point when it repairs a gap).
   */
  private async adoptInherited(epoch: number, peerCommits: number[]): Promise<{ from: number; ownFrom: number }> {
    const committed = Math.max(this.state.commitNo, this.log.getMeta('commit_no'), ...peerCommits);
    const last = this.log.lastPosition();
    // Caught up from the most advanced log of a majority, which holds every committed order: a
    // shorter log means a damaged one somewhere, and this replica must not lead with it.
    if (last.order_no < committed) throw new Error(`its log ends at order ${last.order_no}, below the commit point ${committed} a peer reports`);
    // A peer's commit point is the point of a leader that counted a majority: committed here too.
    this.state.replica.advanceCommit(committed);
    if (last.order_no <= committed) return { from: last.order_no + 1, ownFrom: 0 };
    if (last.epoch !== epoch && (await this.log.restamp([{ order_no: last.order_no, epoch }])) > 0) {
      this.logger.log(`stamped order ${last.order_no}, the last of those inherited above the commit point ${committed}, with epoch ${epoch}`);
    }
    return { from: committed + 1, ownFrom: last.order_no };
  }

  /**
   * Asks every peer to adopt `epoch` with this replica as its leader; resolves with the peers that
   * did, as soon as `enough` have (an unreachable peer then costs nothing), or once all answered.
   */
  private adoptedBy(epoch: number, enough: number): Promise<ReplicaAddress[]> {
    return new Promise((resolve) => {
      const adopted: ReplicaAddress[] = [];
      let pending = this.state.peers.length;
      if (pending === 0 || enough <= 0) return resolve([]);
      for (const peer of this.state.peers) {
        void this.peers.adoptEpoch(peer, this.state.id, epoch).then((ok) => {
          if (ok) adopted.push(peer);
          pending--;
          if (pending === 0 || adopted.length >= enough) resolve([...adopted]);
        });
      }
    });
  }

  /** Gives up leading (or promoting): replication stops, waiting trades are refused, and the replica recovers as a follower. */
  private stepDown(reason: string): void {
    this.replicator.stop(reason);
    this.reconciler.stop();
    // A second reason to step down (deposed while the disk fails, say) finds it recovering already.
    if (!this.state.replica.leading) return;
    this.state.replica.stepDown();
    void this.recovery.recover();
  }
}
