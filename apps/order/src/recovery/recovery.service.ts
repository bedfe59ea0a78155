import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { checksumHolds, OrderEnv, ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { InvalidInput, monotonicNow } from '@app/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { START_QUIET_MS } from '../cluster/start-quiet';
import { ClusterStateService, moreAdvanced, mostAdvancedPeer } from '../cluster/cluster-state.service';
import { ClusterTokenRejected, PeersClient } from '../cluster/peers.client';
import { CommittedEntryConflict, OrderLogService, sameOrder } from '../orders/order-log.service';
import { OrderRecordDto } from '@app/contracts';
import { CatchUpService } from './catch-up.service';

const RETRY_MS = 250;
/** How often entries found damaged are looked after, whatever the role (see RecoveryService.checkDamaged). */
const DAMAGE_CHECK_MS = 1000;
/** Rounds, a second apart, in which a leader tries to put back a damaged entry before it steps down. */
const LEADER_REPAIR_ATTEMPTS = 3;
/** Differences with an equally advanced peer beyond which a third copy is not asked about each one. */
const MAX_DIFFERENCES = 10;
/** Retry period while recovery is blocked (a refused token, a damaged log), and how often that is logged again. */
const BLOCKED_RETRY_MS = 1000;
const BLOCKED_REPEAT_LOG_MS = 30_000;
/**
 * How long a first recovery waits for a peer's check at start (`checking_log`) before comparing its
 * whole log with that peer's: this, or twice its own check's time when that is longer.
 */
const PEER_CHECK_WAIT_MS = 10_000;
/** How often it asks the peer again meanwhile (the check of 60k entries takes under a second here). */
const PEER_CHECK_RETRY_MS = 50;

/**
 * Brings a replica's log up to date before it serves, at start-up (first time or after a crash)
 * and after it was deposed as leader.
 *
 * It reads its last order, asks its peers for their status, and fetches every later order — in
 * pages — from the leader, or with no leader from the most advanced live replica; a tail that the
 * source's log does not have (written by a leader that crashed before replicating it) is dropped.
 * Only then does the replica become a ready follower and `/ping` answer 200. With neither, it
 * compares its log with a replica exactly as advanced as itself (the whole cluster is starting;
 * see {@link compareWithEqualPeers}); with no such peer either, the local log is taken as it is,
 * unless a difference was found before ({@link mustCompare}). Before any of it, the first round
 * checks every entry of the file against its checksum, and puts back any that does not match
 * ({@link repairDamaged}). Peers that refuse
 * this replica's cluster token are not "unreachable": the replica says so at error level and
 * stays not ready, since it cannot verify that it is caught up.
 */
@Injectable()
export class RecoveryService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(RecoveryService.name);
  private running?: Promise<void>;
  private stopped = false;
  /** The last "not ready" line logged while blocked, and when: the same one is repeated at most every BLOCKED_REPEAT_LOG_MS. */
  private blockedLogged: { at: number; message: string; level?: 'error' | 'warn' | 'log' } = { at: 0, message: '' };
  private readonly startedAt = monotonicNow();
  /**
   * The first recovery since start verifies the log (see {@link verifyAfter}); later ones (after
   * leading) start at the commit point.
   */
  private verified = false;
  /** Peers' requests to compare an order that came while this replica recovered (see {@link compareOnRequest}), by `from:orderNo`. */
  private readonly compareAsked = new Map<string, { from: number; orderNo: number }>();
  /** When this recovery began waiting for a peer's check at start (see {@link awaitPeerChecks}). */
  private peerCheckWaitSince?: number;
  /**
   * Set by {@link reverify}, and when recovery finds the log differing: recovery must compare the
   * log with a source before the replica serves again; with none in reach, it waits for one (never
   * taking its log as it is). Kept across restarts as `must_compare` (see {@link MustCompare}).
   */
  private mustCompare = false;
  /** Why recovery cannot finish, when retrying alone will not fix it (shown by `/ping` and `/health`). */
  blockedBy?: string;
  /** The reason of the last wait for a peer whose log is suspect (see {@link run}), while it is {@link blockedBy}. */
  private waitingFor?: string;
  /**
   * Set while this replica's log was found differing from a peer's, or must be compared again (a
   * damaged or edited file, its own or the peer's): none of its entries can be trusted, so it
   * serves no order lookup.
   */
  logDamaged = false;
  /** Whether the file's entries were checked against their checksums since start (see OrderLogService.verifyChecksums). */
  private checksumsChecked = false;
  /** A leader repairs a damaged entry it found while leading (see {@link checkDamaged}): one such loop at a time. */
  private repairing = false;
  /** A {@link checkDamaged} under way. */
  private checking = false;
  private damageCheck?: NodeJS.Timeout;
  /** A leader could not repair an entry of its file that does not match its checksum: it must step down (LeadershipService). */
  readonly cannotRepairWhileLeading$ = new Subject<string>();

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly catchUp: CatchUpService,
    @Optional() private readonly config?: ConfigService<OrderEnv, true>,
  ) {}

  onApplicationBootstrap(): void {
    this.log.damaged$.subscribe(() => void this.checkDamaged());
    this.damageCheck = setInterval(() => void this.checkDamaged(), DAMAGE_CHECK_MS).unref();
    const remembered = this.log.getMeta('must_compare');
    if (remembered !== MustCompare.no && this.config?.get('TRUST_OWN_LOG', { infer: true })) {
      this.logger.warn('TRUST_OWN_LOG=true: its log was found to differ from a peer\'s before it stopped; that is forgotten, as the operator asked (start it without TRUST_OWN_LOG from now on)');
      void this.log.updateMeta({ must_compare: MustCompare.no }).catch((err: Error) => this.logger.warn(`could not forget it on disk: ${err.message}`));
    } else if (remembered !== MustCompare.no) {
      // Found differing before it stopped: as then, it vouches for nothing until a comparison clears it.
      this.mustCompare = true;
      this.logDamaged = true;
      this.state.logSuspect = remembered !== MustCompare.peerDiffers;
      this.blockedBy = 'its log was found to differ from a peer\'s before it stopped, and must be compared again';
    }
    setImmediate(() => void this.recover());
  }

  beforeApplicationShutdown(): void {
    // Before the database closes (TypeORM closes it on application shutdown): no check may start a recovery on it.
    this.stopped = true;
    clearInterval(this.damageCheck);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.damageCheck);
  }

  /** Recovers (sharing a recovery already under way); retries until it succeeds or the app stops. */
  recover(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * A follower's sync met an entry at or below its commit point that differs from its leader's
   * (`conflict`): its file is damaged, or the leader's is. Called under the log lock, so no other
   * sync is applied after it. The replica stops following and serving order lookups at once, and
   * recovers verifying its whole log again, as after a restart — never taking its log as it is:
   * recovery finds the difference and keeps it not ready, saying how to rebuild it, or, should its
   * log now match, makes it a follower again. Without this it kept serving its own version of a
   * committed order while refusing every sync. Does nothing unless it follows.
   */
  reverify(conflict: CommittedEntryConflict): void {
    if (this.log.damagedEntries().includes(conflict.orderNo)) {
      // Its own copy does not match its checksum (see pageToCompare): a repair, not a difference with the leader.
      const why = `order ${conflict.orderNo} in its file does not match its checksum`;
      this.stopAndVerify(why, `${why}; it is repaired from a peer first`, false);
      return;
    }
    this.stopAndVerify(`its log differs from the leader's: ${conflict.message}`, `its log differs from the leader's below its commit point: ${conflict.message}`);
  }

  /**
   * `POST /replication/compare`: peer `from` found this replica's copy of `orderNo` differing from
   * its own, with a third replica's copy on its side (see {@link compareWithEqualPeers}). A
   * follower checks the claim against `from`'s copy and, if the copies differ, stops serving and
   * verifies its whole log again, as {@link reverify} does (its peers then show which file
   * differs). A recovering replica, whose own comparison may begin after that order (see
   * {@link verifyAfter}), settles the claim before it serves ({@link settleCompareAsked}), unless
   * it comes after its last round's check (then as a follower, right after it follows). A leader
   * is left as it is. Returns what it made of it.
   */
  async compareOnRequest(from: number, orderNo: number): Promise<string> {
    const peer = this.state.peers.find((p) => p.id === from);
    if (!peer) throw new InvalidInput(`replica ${from} is not a peer of replica ${this.state.id}`);
    if (this.state.role === 'recovering') {
      this.compareAsked.set(`${from}:${orderNo}`, { from, orderNo });
      return `replica ${this.state.id} is recovering: it compares its order ${orderNo} with replica ${from}'s before it serves`;
    }
    if (this.state.role !== 'follower') return `replica ${this.state.id} is ${this.state.role}: it compares its log before it serves anyway, or leads`;
    const [own, theirs] = await Promise.all([this.log.find(orderNo), this.copyOf(peer, orderNo)]);
    if (!own || !theirs) return `replica ${this.state.id} or replica ${from} holds no order ${orderNo}: nothing to compare`;
    if (sameOrder(own, theirs)) return `replica ${this.state.id}'s order ${orderNo} is the same as replica ${from}'s`;
    const stopped = await this.log.exclusive(async () =>
      this.stopAndVerify(
        `replica ${from} found its copy of order ${orderNo} differing from its own, and a third replica's copy is the same as replica ${from}'s`,
        `replica ${from} found its copy of order ${orderNo} differing from its own and a third replica's`,
      ),
    );
    return stopped
      ? `replica ${this.state.id}'s order ${orderNo} differs from replica ${from}'s: it verifies its whole log again`
      : `replica ${this.state.id}'s order ${orderNo} differs from replica ${from}'s, but it is ${this.state.role} now: nothing done`;
  }

  /**
   * Entries of the file found not to match their checksum (see DamagedEntry), checked at once when
   * one is found and every second after (whatever role the replica had then). A follower stops
   * following and serving, and recovers as after {@link reverify}: recovery repairs them first
   * ({@link repairDamaged}). A leader keeps leading and puts them back from its followers'
   * committed copies, refusing to serve them meanwhile ({@link repairWhileLeading}). A recovering
   * or promoting replica's recovery, or the next check, sees to them.
   */
  private async checkDamaged(): Promise<void> {
    if (this.log.damagedEntries().length === 0 || this.stopped || this.checking) return;
    this.checking = true;
    try {
      // The newest entries are still in memory, as written: put back from there, whatever the role.
      await this.log.exclusive(async () => this.logPutBackFromMemory(await this.log.repairFromTail()));
      const damaged = this.log.damagedEntries();
      if (damaged.length === 0 || this.stopped) return;
      if (this.state.role === 'follower') {
        const why = `order ${damaged[0]} in its file does not match its checksum`;
        await this.log.exclusive(async () => this.stopAndVerify(why, `${why}; it is repaired from a peer first`, false));
      } else if (this.state.role === 'leader') {
        void this.repairWhileLeading();
      }
    } catch (err) {
      this.logger.warn(`could not look after damaged entries (again within a second): ${(err as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  private logPutBackFromMemory(orderNos: number[]): void {
    if (orderNos.length > 0) this.logger.warn(`order${orderNos.length > 1 ? 's' : ''} ${orderNos.join(', ')} put back from the copy it holds in memory, as written`);
  }

  /**
   * A leader's repair of entries found damaged while it leads: from followers' committed copies
   * ({@link committedCopies}; read outside the lock, so trades and syncs do not wait on a peer),
   * each put back under the lock. One that no follower has committed — an entry above the commit
   * point, or a majority out of reach — is tried again each second, LEADER_REPAIR_ATTEMPTS times;
   * then the leader steps down ({@link cannotRepairWhileLeading$}), and its recovery repairs it
   * from the next leader.
   */
  private async repairWhileLeading(): Promise<void> {
    if (this.repairing) return;
    this.repairing = true;
    try {
      for (let attempt = 1; !this.stopped && this.state.role === 'leader'; attempt++) {
        const damaged = this.log.damagedEntries();
        if (damaged.length === 0) return;
        const statuses = await this.peers.statuses(this.state.peers);
        for (const { copy, from } of await this.committedCopies(damaged, statuses, true)) {
          await this.log.exclusive(async () => {
            if (this.state.role !== 'leader' || !this.log.damagedEntries().includes(copy.order_no)) return;
            await this.log.repair(copy);
            this.logRepaired(copy, from);
          });
        }
        const left = this.log.damagedEntries();
        if (left.length === 0 || this.state.role !== 'leader') return;
        if (attempt >= LEADER_REPAIR_ATTEMPTS) {
          this.cannotRepairWhileLeading$.next(`${damagedEntriesLine(left, this.log.dbFile)}, and no follower has answered with a committed copy`);
          return;
        }
        await sleep(BLOCKED_RETRY_MS);
      }
    } catch (err) {
      this.logger.warn(`could not repair damaged entries while leading (checked again within a second): ${(err as Error).message}`);
    } finally {
      this.repairing = false;
    }
  }

  /**
   * For each of `orderNos`, a peer's copy that is certainly the order this log held at that number,
   * and matches its own checksum: one at or below that peer's commit point (committed entries are
   * the same on every replica); a settled leader's, of an order this replica knows committed (a
   * leader holds every committed entry); or the copy of a peer whose log ends exactly as this one's, at
   * the same number under the same stamp, and is not suspect (by log matching, the same entries:
   * a whole cluster restarting before the followers learnt the last commit point). Peers are
   * asked in turn, until one has such a copy. A leader asks only replicas of its own epoch: one of
   * a newer epoch may hold a newer leader's order where this one's was never committed, and this
   * one is about to be deposed.
   */
  private async committedCopies(orderNos: number[], statuses: PeerStatus[], leading = false): Promise<{ copy: OrderRecordDto; from: ReplicaAddress }[]> {
    const own = this.state.status();
    const found: { copy: OrderRecordDto; from: ReplicaAddress }[] = [];
    for (const orderNo of orderNos) {
      for (const { peer, status } of statuses) {
        if (leading && status.epoch > own.epoch) continue;
        // A leader's copy only of an order known committed: above that, a newer leader may hold another order there.
        const leaderCopy = status.role === 'leader' && status.epoch >= this.state.epoch && orderNo <= own.commit_no;
        const sameLog = !status.log_suspect && status.last_no === own.last_no && status.last_epoch === own.last_epoch;
        if (status.commit_no < orderNo && !leaderCopy && !sameLog) continue;
        const copy = await this.copyOf(peer, orderNo);
        if (!copy?.checksum) continue;
        found.push({ copy, from: peer });
        break;
      }
    }
    return found;
  }

  /** An entry found damaged during a recovery round (a lookup read it, or a comparison): the round does not count, and the next one repairs it first. */
  private noDamageFoundThisRound(): void {
    const [first] = this.log.damagedEntries();
    if (first !== undefined) throw new Error(`order ${first} was found not to match its checksum during this round: repairing it first`);
  }

  /**
   * A replica whose file is new or was emptied ({@link ReplicaState.rejoining}) lost what it held:
   * an order committed with its copy may now be on majority − 1 of its peers only, and an epoch
   * it adopted on no more. So its first recovery needs answers from enough peers that every such
   * order and epoch is among them: all but majority − 2 of them (both peers, of three). Else it
   * waits, not ready and voting for no one. A new cluster starting with a replica missing is let
   * through: every peer that answered (a majority with this one) has a new file too, so none of
   * them ever adopted an epoch, and no majority ever formed without them.
   */
  private assertEnoughToRejoin(statuses: PeerStatus[]): void {
    const peers = this.state.peers.length;
    const need = Math.min(peers, peers + 2 - this.state.majority);
    if (statuses.length >= need) return;
    const allNew = statuses.every(({ status }) => status.epoch === 0 && status.last_no === 0 && status.commit_no === 0);
    if (allNew && statuses.length >= this.state.majority - 1) return;
    if (statuses.length > 0 && this.config?.get('REJOIN_WITH_PEERS_DOWN', { infer: true })) {
      this.logger.warn(`REJOIN_WITH_PEERS_DOWN=true: it rejoins with ${statuses.length} of its ${peers} peers, as the operator asked; orders committed with its lost copy and held only by a peer that is down are left out`);
      return;
    }
    throw new NothingToCompare(
      `its file is new or was emptied (rebuilt from its peers), and ${statuses.length} of its ${peers} peers answered: it needs ${need}, ` +
        'so that every order committed with its lost copy and every epoch it voted in is among what they hold, before it serves or votes ' +
        '(an operator who knows no such order is there can start it once with REJOIN_WITH_PEERS_DOWN=true)',
      monotonicNow() - this.startedAt < START_QUIET_MS,
    );
  }

  /** The leader of the newest epoch at least this replica's, among the peers that answered. */
  private settledLeader(statuses: PeerStatus[]): PeerStatus | undefined {
    return statuses.filter((s) => s.status.role === 'leader' && s.status.epoch >= this.state.epoch).sort((a, b) => b.status.epoch - a.status.epoch)[0];
  }

  private logRepaired(copy: OrderRecordDto, from: ReplicaAddress): void {
    this.logger.warn(`order ${copy.order_no} repaired from replica ${from.id}'s committed copy, which matches its checksum: ${describeOrder(copy)}`);
  }

  /**
   * Recovery, under the lock: puts back each damaged entry (one found not to match its checksum).
   * - At or below this replica's commit point, from a peer's committed copy ({@link committedCopies}),
   *   put back in place (the rest of the log is compared with a source afterwards, as usual).
   * - Above it, where no peer may have committed it, by a catch-up from the leader, or else from a
   *   replica at least as advanced as this one whose log is not suspect: the catch-up takes the
   *   source's copy in its place as it would any differing entry (see CatchUpService), dropping
   *   this log's tail from there only in the step that appends the source's entries. An equally
   *   advanced source holds the same entries (log matching); a more advanced one, a log this one
   *   would take anyway.
   * Throws {@link UnrepairedEntries} when an entry is left: no such copy or source answers.
   */
  private async repairDamaged(statuses: PeerStatus[]): Promise<void> {
    this.logPutBackFromMemory(await this.log.repairFromTail());
    const own = this.state.status();
    const committed = this.log.damagedEntries().filter((n) => n <= own.commit_no);
    for (const { copy, from } of await this.committedCopies(committed, statuses)) {
      await this.log.repair(copy);
      this.logRepaired(copy, from);
    }
    const unrepaired = () => {
      const left = this.log.damagedEntries();
      if (left.length > 0) throw new UnrepairedEntries(left, this.log.dbFile);
    };
    // A committed one left: no catch-up can pass it (nor may it replace it).
    if (this.log.damagedEntries().some((n) => n <= own.commit_no)) unrepaired();
    if (this.log.damagedEntries().length > 0) {
      const leader = this.settledLeader(statuses);
      const asAdvanced = statuses
        .filter((s) => !s.status.log_suspect && !moreAdvanced(own, s.status))
        .sort((a, b) => (moreAdvanced(a.status, b.status) ? -1 : 1));
      const source = leader ?? asAdvanced[0];
      if (source) {
        const [first] = this.log.damagedEntries();
        this.logger.warn(`order ${first}, above its commit point, does not match its checksum: it takes replica ${source.peer.id}'s copy, by a catch-up`);
        await this.catchUp.catchUpFrom(source.peer, true);
      }
    }
    unrepaired();
  }

  /**
   * A follower stops following and serving order lookups, at once, and recovers verifying its whole
   * log (true). Called under the log lock. `mustCompare`: a difference with a peer's copy, which the
   * log must be compared again for, across a restart too; not for an entry that does not match its
   * checksum, which the check at start finds again by itself.
   */
  private stopAndVerify(logged: string, blockedBy: string, mustCompare = true): boolean {
    if (this.state.role !== 'follower') return false;
    this.logger.error(`${logged}; it serves nothing until its whole log is verified again`);
    this.verified = false;
    this.checksumsChecked = false; // every entry of the file checked again, not one per round
    this.logDamaged = true;
    this.state.logSuspect = true;
    this.blockedBy = blockedBy;
    this.state.replica.reverify();
    if (mustCompare) {
      this.mustCompare = true;
      // Queued for the lock before the recovery below: a restart remembers the difference too.
      void this.persistMustCompare();
    }
    void this.recover();
    return true;
  }

  /**
   * Where the first recovery's comparison with `peer`'s log begins (0: the whole log): after the
   * entries that both this replica's and the peer's checksums vouch for (OrderLogService.
   * vouchedThrough; the peer's `vouched_through`). A file changed while its replica was down shows
   * there without a peer, and one changed while it runs on the first read; what the checksums do
   * not cover is compared: entries written before checksums, on either side (the comparison of
   * copies is what finds a change in those, in the peer's file too), a missing number, and the
   * newest entries, from just below the commit point on, whose epoch stamps a new leader may have
   * changed. So a restart reads from its source about what it missed, not the whole log again.
   * From the first entry once a difference with a peer's copy was found ({@link mustCompare}), or
   * when the peer's own log may be damaged (`log_suspect`).
   */
  private verifyAfter(peer: ReplicaStatus): number {
    const vouched = this.mustCompare || peer.log_suspect ? 0 : Math.min(this.log.vouchedThrough(), peer.vouched_through ?? 0);
    return Math.min(vouched, this.askedBelow());
  }

  /**
   * Just below the lowest order a peer asked this replica to compare while it recovered
   * ({@link compareOnRequest}), or Infinity: a round's comparison starts no later, so it covers
   * each such order with its source or its equally advanced peers, the asker reachable or not.
   */
  private askedBelow(): number {
    let below = Infinity;
    for (const { orderNo } of this.compareAsked.values()) below = Math.min(below, orderNo - 1);
    return below;
  }

  /**
   * Before a first recovery compares its log with `peers`' from what their checksums vouch for
   * ({@link verifyAfter}): a peer whose own check at start is not over (`checking_log`, as when the
   * whole cluster restarts and every replica reads its file at once) says 0, and the comparison
   * would read its whole log. So the round stops ({@link PeerStillChecking}) and is tried again
   * every PEER_CHECK_RETRY_MS until the peer's check is over, at most PEER_CHECK_WAIT_MS (or twice
   * its own check's time) in all, for a peer whose check fails or hangs: then the whole log is
   * compared, as before. Not when its own side begins the comparison at 0 anyway (nothing of its
   * own vouched for, or, for a catch-up, no commit point).
   */
  private awaitPeerChecks(peers: PeerStatus[], catchingUp: boolean): void {
    if (this.verified || this.mustCompare) return;
    // Where its own side lets the comparison begin: 0, and waiting changes nothing.
    if (Math.min(this.log.vouchedThrough(), this.askedBelow(), catchingUp ? this.catchUp.startPoint() : Infinity) === 0) return;
    const checking = peers.find((s) => s.status.checking_log && !s.status.log_suspect);
    if (!checking) return;
    // A peer's check takes about as long as this one's did (the same log): a long log waits longer.
    const longest = Math.max(PEER_CHECK_WAIT_MS, 2 * this.log.checkDurationMs());
    if (this.peerCheckWaitSince === undefined) {
      this.peerCheckWaitSince = monotonicNow();
      this.logger.log(`replica ${checking.peer.id} is still checking its file against its checksums: waiting for it (at most ${Math.round(longest / 1000)} s), so that the logs are compared only where no checksum vouches`);
    }
    if (monotonicNow() - this.peerCheckWaitSince >= longest) return;
    throw new PeerStillChecking(checking.peer.id);
  }

  /** The peers exactly as advanced as this replica (the same last order and epoch), which by log matching hold the same orders. */
  private equalPeers(statuses: PeerStatus[]): PeerStatus[] {
    const own = this.state.status();
    return own.last_no === 0 ? [] : statuses.filter((s) => s.status.last_no === own.last_no && s.status.last_epoch === own.last_epoch);
  }

  /**
   * After a catch-up from `source`, this log holds the source's entries through the source's commit
   * point as they are there, and those are committed: that becomes this replica's commit point too,
   * kept on disk, as the leader's next sync would make it. So a restart right after a catch-up
   * compares its log from there ({@link verifyAfter}), not from its old commit point again, and its
   * order lookups are served at once.
   */
  private async takeCommitPoint(source: ReplicaStatus): Promise<void> {
    const committed = Math.min(source.commit_no, this.log.lastPosition().order_no);
    if (committed <= this.log.getMeta('commit_no')) return;
    // On disk first, then in memory, as a sync does (the log's guards read the one on disk).
    await this.log.updateMeta({ commit_no: committed }).then(
      () => this.state.replica.advanceCommit(committed),
      // Not a reason to stay not ready: the leader's next sync writes it.
      (err: Error) => this.logger.warn(`could not record the commit point ${committed} it took from replica ${source.id} (the leader's next sync records it): ${err.message}`),
    );
  }

  /** Keeps {@link mustCompare} across restarts (`must_compare` in the log's metadata; see {@link MustCompare}). */
  private async persistMustCompare(): Promise<void> {
    const value = !this.mustCompare ? MustCompare.no : this.state.logSuspect ? MustCompare.suspect : MustCompare.peerDiffers;
    if (this.log.getMeta('must_compare') === value) return;
    await this.log.updateMeta({ must_compare: value }).catch((err: Error) => {
      // Tried again on the next round while it stays blocked.
      this.logger.warn(`could not record that its log ${value ? 'must be compared again' : 'was compared'} (a restart may ${value ? 'forget it' : 'compare it again'}): ${err.message}`);
    });
  }

  /** Logs why recovery cannot finish: at once when the reason changed, else at most every BLOCKED_REPEAT_LOG_MS. */
  private logBlocked(level: 'error' | 'warn' | 'log', message: string): void {
    // The same line again within the period is left out, unless it got louder (a wait at start gone on too long).
    const louder = level !== 'log' && this.blockedLogged.level === 'log';
    if (message === this.blockedLogged.message && !louder && monotonicNow() - this.blockedLogged.at < BLOCKED_REPEAT_LOG_MS) return;
    this.blockedLogged = { at: monotonicNow(), message, level };
    this.logger[level](`not ready: ${message}`);
  }

  /**
   * Under the lock, at the end of a recovery round: the peers' requests to compare that came while
   * this replica recovered ({@link compareOnRequest}).
   * - One pending when the round's comparison began (`covered`) is settled if the round
   *   `compared` its log with a source or an equally advanced peer: it did so from below that
   *   order ({@link askedBelow}), and a difference there would have failed the round.
   * - Any other is checked against the asker's copy. If they differ, the round does not count
   *   ({@link AskedToCompare}): the replica serves nothing, and the next round compares its whole
   *   log ({@link mustCompare}, also kept for a restart), as a follower would after
   *   {@link reverify}. If the asker's copy is out of reach, the round does not count either, and
   *   the next one covers the order by its comparison; if this round compared nothing (nothing to
   *   compare with, or a deposed leader's recovery without a source), it is tried once more as a
   *   follower, right after the replica follows.
   */
  private async settleCompareAsked(covered: Set<string>, compared: boolean): Promise<void> {
    for (const [key, asked] of [...this.compareAsked]) {
      if (compared && covered.has(key)) {
        this.compareAsked.delete(key);
        continue;
      }
      const peer = this.state.peers.find((p) => p.id === asked.from)!;
      const [own, theirs] = await Promise.all([this.log.find(asked.orderNo), this.copyOf(peer, asked.orderNo)]);
      if (own && !theirs) {
        if (compared) throw new Error(`replica ${asked.from} asked it to compare order ${asked.orderNo}, and its copy is out of reach: the next round compares its log from there`);
        continue;
      }
      this.compareAsked.delete(key);
      if (own && theirs && !sameOrder(own, theirs)) this.stopServingAsAsked(asked);
    }
  }

  /** {@link settleCompareAsked} found its copy differing from the asker's: see there. */
  private stopServingAsAsked(asked: { from: number; orderNo: number }): never {
    const why = `replica ${asked.from} found its copy of order ${asked.orderNo} differing from its own and a third replica's`;
    this.verified = false;
    this.mustCompare = true;
    this.logDamaged = true;
    this.state.logSuspect = true;
    this.blockedBy = why;
    throw new AskedToCompare(`${why}: it serves nothing until its whole log is compared again`);
  }

  /** A peer's copy of order `orderNo`, if it answers and holds one. */
  private copyOf(peer: ReplicaAddress, orderNo: number): Promise<OrderRecordDto | undefined> {
    return this.peers.logPage(peer, orderNo - 1, 1).then(
      // A copy that does not match its checksum is no copy (a replica never serves one: see DamagedEntry).
      (p) => p.orders.find((o) => o.order_no === orderNo && checksumHolds(o)),
      () => undefined,
    );
  }

  /**
   * Which copy of order `orderNo` a third replica holds, when this replica's differs from
   * `source`'s: it tells which of the two files differs from a majority (of three), so that the
   * operator rebuilds that one. Only a copy at or below that replica's commit point counts (one it
   * holds uncommitted is no opinion); a copy it fetched from either file in a recovery and then
   * committed still counts, so the opinion can be wrong when a replica caught up from a changed
   * file (see the README's *Not caught*). Also returns both copies, for the operator.
   */
  private async secondOpinion(orderNo: number, source: ReplicaAddress, others: PeerStatus[]): Promise<Evidence> {
    const [own, theirs] = await Promise.all([this.log.find(orderNo), this.copyOf(source, orderNo)]);
    if (!own || !theirs) return { own: own ?? undefined, theirs };
    for (const { peer, status } of others) {
      if (status.commit_no < orderNo) continue;
      const copy = await this.copyOf(peer, orderNo);
      if (copy && sameOrder(copy, own)) return { own, theirs, opinion: { peer, agreesWith: 'this replica' } };
      if (copy && sameOrder(copy, theirs)) return { own, theirs, opinion: { peer, agreesWith: 'source' } };
    }
    return { own, theirs };
  }

  /**
   * With no leader nor more advanced replica in reach (the whole cluster restarting, or both
   * followers of a damaged leader that is gone), compares the log (after what both sides'
   * checksums vouch for, see {@link verifyAfter}) with each replica exactly as advanced as this
   * one (the same last order and epoch), changing nothing: by log matching, such a replica holds
   * the same orders, so a difference means that one of the two files is damaged. A peer that differs only where a third replica's committed copies are this one's (a
   * majority) is named to be rebuilt, and asked to compare its log again (`POST
   * /replication/compare`), so that it stops serving before it can lead. True when some peer's log
   * matches or is shown to be the one that differs, and none is shown to hold the majority's copy
   * against this one. False when no such peer answers (the log is taken as it is, unless it must
   * be compared). Otherwise throws {@link DamagedLog}.
   */
  private async compareWithEqualPeers(statuses: PeerStatus[]): Promise<boolean> {
    const own = this.state.status();
    const equals = this.equalPeers(statuses);
    if (equals.length === 0) return false;
    // Side by side: a whole-cluster restart reads each peer's log once, at the same time.
    const compared = await Promise.all(
      equals.map(async ({ peer, status }) => {
        const from = this.verifyAfter(status);
        return { peer, from, differing: await this.catchUp.differencesWith(peer, from, own.last_no, MAX_DIFFERENCES) };
      }),
    );
    let vouched = false;
    let damaged: DamagedLog | undefined;
    for (const { peer, from, differing } of compared) {
      if (differing.length === 0) {
        const scope = from === 0 ? '' : from >= own.last_no ? ' (every entry vouched for by its checksum)' : ` (compared after order ${from}; those before are vouched for by their checksums)`;
        this.logger.log(`its log matches replica ${peer.id}'s, as advanced as it, through order ${own.last_no}${scope}`);
        vouched = true;
        continue;
      }
      const others = statuses.filter((s) => s.peer.id !== peer.id);
      const evidence = await Promise.all(differing.map((no) => this.secondOpinion(no, peer, others).catch((): Evidence => ({}))));
      const forThis = evidence.every((e) => e.opinion?.agreesWith === 'this replica');
      // Too many differences to trust a file on the third copies of a few: not ready, though they name the peer.
      if (forThis && differing.length < MAX_DIFFERENCES) {
        const holders = [...new Set(evidence.map((e) => e.opinion!.peer.id))].join(', ');
        this.logger.error(
          `replica ${peer.id}'s log differs from this one's, as advanced as it, at order${differing.length > 1 ? 's' : ''} ${differing.join(', ')}; ` +
            `replica ${holders} holds this replica's copies, so replica ${peer.id}'s are the ones that differ from a majority: rebuild replica ${peer.id} from its peers`,
        );
        void this.peers.askToCompare(peer, this.state.id, differing[0]).then(
          (answer) => this.logger.log(`replica ${peer.id}, asked to compare its log again: ${answer}`),
          (err: Error) => this.logger.warn(`could not ask replica ${peer.id} to compare its log again: ${err.message}`),
        );
        vouched = true;
        continue;
      }
      // The first order on which a third copy sides with the peer, if any: this file is the one that differs.
      const against = evidence.findIndex((e) => e.opinion?.agreesWith === 'source');
      const at = Math.max(against, 0);
      const found = new DamagedLog(
        `its log differs from replica ${peer.id}'s, which is as advanced as it: order ${differing[at]} is another order there`,
        peer,
        this.log.dbFile,
        forThis || against >= 0 ? evidence[at] : { own: evidence[at].own, theirs: evidence[at].theirs },
        differing[at],
      );
      // The gravest verdict counts: this file differing, then a difference no third copy settles.
      if (!damaged || VERDICT_RANK[found.verdict] > VERDICT_RANK[damaged.verdict]) damaged = found;
    }
    if (vouched && damaged?.verdict !== 'this replica') return true;
    throw damaged!;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        let caughtUpFrom: ReplicaStatus | undefined;
        const leader = await this.log.exclusive(async () => {
          let compared = false;
          // First of all, at start: a file changed while the replica was down is found with no peer to ask.
          if (!this.checksumsChecked) {
            await this.log.verifyChecksums();
            this.checksumsChecked = true;
          }
          const statuses = await this.peers.statuses(this.state.peers);
          if (this.log.damagedEntries().length > 0) {
            this.state.logSuspect = true;
            this.logDamaged = true;
            await this.repairDamaged(statuses);
          }
          const rejoining = this.state.replica.rejoining;
          if (rejoining) this.assertEnoughToRejoin(statuses);
          const leading = this.settledLeader(statuses);
          // Not from a replica whose own log may be damaged: its copies would spread.
          const best = mostAdvancedPeer(statuses.filter((s) => !s.status.log_suspect), this.state.status());
          // A rejoining replica takes the most advanced log of the peers it heard (the leader's
          // unless another is more advanced): a leader it heard may be a stale one.
          const source = rejoining && leading && best && moreAdvanced(best.status, leading.status) ? best : (leading ?? best);
          // Nor may it leave out a more advanced log whose replica suspects it: it may hold what it lost.
          const suspectAhead = rejoining && statuses.find((s) => s.status.log_suspect && moreAdvanced(s.status, source?.status ?? this.state.status()));
          if (suspectAhead) throw new NothingToCompare(`its file is new or was emptied, and replica ${suspectAhead.peer.id} is more advanced than any other peer, but its own log may be damaged (log_suspect): it waits`);
          this.awaitPeerChecks(source ? [source] : this.equalPeers(statuses), source !== undefined);
          // Requests to compare pending now: the comparison below begins (with nothing awaited before) below each (see verifyAfter).
          const covered = new Set(this.compareAsked.keys());
          if (source) {
            // A deposed leader's recovery starts at its commit point, unless a difference was found
            // since (mustCompare: the whole log) or a peer asked it to compare an order below it.
            const asked = this.askedBelow();
            const verifyFrom =
              !this.verified || this.mustCompare ? this.verifyAfter(source.status) : asked < this.catchUp.startPoint() ? asked : undefined;
            await this.catchUp.catchUpFrom(source.peer, true, verifyFrom).catch(async (err: unknown) => {
              if (!(err instanceof CommittedEntryConflict)) throw err;
              // Its own copy found damaged on the way (see pageToCompare): put back on the next round, not a difference.
              if (this.log.damagedEntries().includes(err.orderNo)) this.noDamageFoundThisRound();
              const others = statuses.filter((s) => s.peer.id !== source.peer.id);
              const evidence = await this.secondOpinion(err.orderNo, source.peer, others).catch((): Evidence => ({}));
              throw new DamagedLog(`its log differs from replica ${source.peer.id}'s below its commit point: ${err.message}`, source.peer, this.log.dbFile, evidence, err.orderNo);
            });
            this.noDamageFoundThisRound();
            caughtUpFrom = source.status;
            compared = true;
            this.verified = true;
          } else if (!this.verified && (await this.compareWithEqualPeers(statuses))) {
            this.noDamageFoundThisRound();
            compared = true;
            this.verified = true;
          } else if (this.mustCompare) {
            throw new NothingToCompare();
          } else {
            // A more advanced log that may be damaged: this one cannot tell what it misses, nor copy it.
            const ahead = statuses.find((s) => s.status.log_suspect && moreAdvanced(s.status, this.state.status()));
            if (ahead) throw new NothingToCompare(`replica ${ahead.peer.id} is more advanced, but its own log may be damaged (log_suspect): it waits rather than take its log as it is`);
          }
          this.noDamageFoundThisRound();
          await this.settleCompareAsked(covered, compared);
          if (rejoining) await this.state.rejoinedUnderLock(Math.max(0, ...statuses.map((s) => s.status.epoch)));
          return leading?.status;
        });
        // Outside the lock (a metadata write takes it); the replica still recovers, so no sync changes its log meanwhile.
        if (caughtUpFrom) await this.takeCommitPoint(caughtUpFrom);
        this.mustCompare = false;
        this.peerCheckWaitSince = undefined;
        this.state.logSuspect = false;
        await this.persistMustCompare();
        if (leader) await this.state.acceptLeader(leader.epoch, leader.id);
        this.blockedBy = undefined;
        this.logDamaged = false; // its log verified against the source this time (see verifyAfter)
        if (this.state.role === 'recovering') this.state.replica.follow();
        this.logger.log(`recovered: log ends at order ${this.log.lastPosition().order_no}, ready`);
        // Asked after this round's check, before it followed (or not settled by it): as a follower now.
        const asked = [...this.compareAsked.values()];
        this.compareAsked.clear();
        for (const { from, orderNo } of asked) {
          void this.compareOnRequest(from, orderNo).then(
            (answer) => this.logger.log(`asked by replica ${from} to compare: ${answer}`),
            (err: Error) => this.logger.warn(`could not compare order ${orderNo} with replica ${from}'s: ${err.message}`),
          );
        }
        return;
      } catch (err) {
        if (err instanceof UnrepairedEntries) {
          // Its file holds entries it cannot serve: it serves nothing, nor is it a source, until they are put back.
          this.blockedBy = err.message;
          this.state.logSuspect = true;
          this.logDamaged = true;
          this.logBlocked('error', err.message);
          await sleep(BLOCKED_RETRY_MS);
          continue;
        }
        if (err instanceof ClusterTokenRejected || err instanceof DamagedLog) {
          this.blockedBy = err instanceof DamagedLog ? err.summary : 'peers reject this replica\'s cluster token (401)';
          // A difference found is never forgotten for want of a source (nor by a restart): it is compared again first.
          if (err instanceof DamagedLog) {
            this.mustCompare = true;
            // Unless a third copy sided with this one, its own file may be the damaged one.
            this.state.logSuspect = err.verdict !== 'source';
          }
          this.logDamaged = this.mustCompare;
          if (this.mustCompare) await this.persistMustCompare();
          this.logBlocked('error', err.message);
          await sleep(BLOCKED_RETRY_MS);
          continue;
        }
        if (err instanceof AskedToCompare) {
          this.logger.error(err.message);
          await this.persistMustCompare(); // outside the lock: a restart compares the whole log too
          await sleep(RETRY_MS);
          continue;
        }
        if (err instanceof PeerStillChecking) {
          await sleep(PEER_CHECK_RETRY_MS);
          continue;
        }
        if (err instanceof NothingToCompare) {
          // Not ready, for the reason reverify or the last comparison gave (or this one).
          if (err.reason) this.blockedBy = this.waitingFor = err.reason;
          await this.persistMustCompare();
          this.logBlocked(err.quiet ? 'log' : 'warn', err.message);
          await sleep(RETRY_MS);
          continue;
        }
        if (this.blockedBy === this.waitingFor) this.blockedBy = undefined; // that wait is over
        this.logger.warn(`recovery not finished yet: ${(err as Error).message}`);
        await sleep(RETRY_MS);
      }
    }
  }
}

type PeerStatus = { peer: ReplicaAddress; status: ReplicaStatus };

/**
 * `must_compare` in the log's metadata: whether the log must be compared with a peer's before the
 * replica serves, and whether its own file may be the damaged one (`suspect`) or a third copy sided
 * with it against its source (`peerDiffers`).
 */
const MustCompare = { no: 0, suspect: 1, peerDiffers: 2 } as const;

const VERDICT_RANK = { source: 0, unknown: 1, 'this replica': 2 } as const;

/** A peer's copy of an order differs from this replica's, as it said when it asked this one to compare (see RecoveryService.settleCompareAsked). */
class AskedToCompare extends Error {}

/** A peer this recovery is about to compare its log with has not finished its own check at start yet (see RecoveryService.awaitPeerChecks). */
class PeerStillChecking extends Error {
  constructor(peerId: number) {
    super(`replica ${peerId} is still checking its file against its checksums`);
  }
}

/** After {@link RecoveryService.reverify} or a damaged log found: no replica answers to compare the log with. */
class NothingToCompare extends Error {
  constructor(
    readonly reason?: string,
    /** Expected for now (peers still starting): logged at info. */
    readonly quiet = false,
  ) {
    super(reason ?? 'its log must be compared with a leader or a replica at least as advanced again, and none answers yet');
  }
}

/** `order 2 in <file> does not match its checksum (changed or damaged on disk)`, or several. */
function damagedEntriesLine(orderNos: number[], dbFile: string): string {
  const one = orderNos.length === 1;
  const which = one ? `order ${orderNos[0]}` : `orders ${orderNos.slice(0, 10).join(', ')}${orderNos.length > 10 ? ' …' : ''}`;
  return `${which} in ${dbFile} ${one ? 'does not match its checksum' : 'do not match their checksums'} (changed or damaged on disk)`;
}

/** Entries of the file that do not match their checksum, and that recovery could not put back yet (see RecoveryService.repairDamaged). */
class UnrepairedEntries extends Error {
  constructor(orderNos: number[], dbFile: string) {
    super(
      `${damagedEntriesLine(orderNos, dbFile)}, and no peer has answered with a committed copy, nor a leader or a replica as advanced to fetch ` +
        `${orderNos.length === 1 ? 'it' : 'them'} from, yet: it serves nothing and asks again every second`,
    );
  }
}

/** What recovery found about one differing order: this replica's copy, the source's, and a third replica's opinion. */
interface Evidence {
  own?: OrderRecordDto;
  theirs?: OrderRecordDto;
  opinion?: SecondOpinion;
}

/** An order as the operator compares it: `buy 51 Stock1 (request …)`. */
function describeOrder(o: OrderRecordDto | undefined): string {
  return o ? `${o.trade_type} ${o.quantity} ${o.stock_name} (request ${o.request_id})` : 'none';
}

/** Another replica's copy of the order on which this replica and its source differ: the same as which one. */
interface SecondOpinion {
  peer: ReplicaAddress;
  agreesWith: 'this replica' | 'source';
}

/**
 * A replica's log differs from its source's at an order one of them had committed: one of the two
 * files is damaged (or was edited). It stays not ready; the message says which replica to rebuild
 * from its peers, and how: this one when a third replica holds the source's copy, the source when
 * the third holds this one's; with no third copy, it cannot say which, and names neither.
 */
class DamagedLog extends Error {
  readonly summary: string;
  /** Which file the third copy shows to differ from a majority: this one's, the source's, or not known. */
  readonly verdict: 'this replica' | 'source' | 'unknown';

  constructor(difference: string, source: ReplicaAddress, dbFile: string, evidence: Evidence, orderNo: number) {
    const { opinion } = evidence;
    let summary = difference;
    const copies = ` (this replica's copy: ${describeOrder(evidence.own)}; replica ${source.id}'s: ${describeOrder(evidence.theirs)})`;
    if (opinion?.agreesWith === 'this replica') {
      summary += `; replica ${opinion.peer.id} holds the same order ${orderNo} as this replica, so replica ${source.id}'s copy is the one that differs from a majority`;
      super(`${summary}${copies}: rebuild replica ${source.id} from its peers (stop it, delete or move aside its database file and start it again), not this one`);
    } else if (opinion) {
      summary += `; replica ${opinion.peer.id} holds replica ${source.id}'s copy of order ${orderNo}`;
      super(`${summary}${copies}; to rebuild it from its peers, stop it, delete (or move aside) ${dbFile}* and start it again`);
    } else {
      super(
        `${summary}${copies}; no third replica holds a committed copy of order ${orderNo} to say which of the two files differs: rebuild neither yet; ` +
          'it compares again every second, and a third replica that had committed the order settles it; without one, compare that order in both files by hand, ' +
          'rebuild the wrong one (starting it once with REJOIN_WITH_PEERS_DOWN=true while a replica is down), and start the other once with TRUST_OWN_LOG=true',
      );
    }
    this.summary = summary;
    this.verdict = opinion?.agreesWith === 'this replica' ? 'source' : opinion ? 'this replica' : 'unknown';
  }
}
