import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterStateService, mostAdvancedPeer } from '../cluster/cluster-state.service';
import { ClusterTokenRejected, PeersClient } from '../cluster/peers.client';
import { CommittedEntryConflict, OrderLogService, sameOrder } from '../orders/order-log.service';
import { CatchUpService } from './catch-up.service';

const RETRY_MS = 250;
/** Differences with an equally advanced peer beyond which a third copy is not asked about each one. */
const MAX_DIFFERENCES = 10;
/** Retry period while recovery is blocked (a refused token, a damaged log), and how often that is logged again. */
const BLOCKED_RETRY_MS = 1000;
const BLOCKED_REPEAT_LOG_MS = 30_000;

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
 * unless a difference was found before ({@link mustCompare}). Peers that refuse
 * this replica's cluster token are not "unreachable": the replica says so at error level and
 * stays not ready, since it cannot verify that it is caught up.
 */
@Injectable()
export class RecoveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RecoveryService.name);
  private running?: Promise<void>;
  private stopped = false;
  /** The last "not ready" line logged while blocked, and when: the same one is repeated at most every BLOCKED_REPEAT_LOG_MS. */
  private blockedLogged = { at: 0, message: '' };
  /** The first recovery since start verifies the whole log; later ones (after leading) start at the commit point. */
  private verified = false;
  /**
   * Set by {@link reverify}, and when recovery finds the log damaged: recovery must compare the log
   * with a source before the replica serves again; with no leader nor more advanced replica in
   * reach, it waits for one (never taking its log as it is).
   */
  private mustCompare = false;
  /** Why recovery cannot finish, when retrying alone will not fix it (shown by `/ping` and `/health`). */
  blockedBy?: string;
  /**
   * Set while recovery finds this replica's log differing from a peer's below its commit point (a
   * damaged or edited file): none of its entries can be trusted, so it serves no order lookup.
   */
  logDamaged = false;

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly catchUp: CatchUpService,
  ) {}

  onApplicationBootstrap(): void {
    if (this.log.getMeta('must_compare') > 0) {
      // Found differing before it stopped: as then, it vouches for nothing until a comparison clears it.
      this.mustCompare = true;
      this.logDamaged = true;
      this.blockedBy = 'its log was found to differ from a peer\'s below its commit point before it stopped, and must be compared again';
    }
    setImmediate(() => void this.recover());
  }

  onApplicationShutdown(): void {
    this.stopped = true;
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
   * recovers verifying its whole log again, as after a restart, against a leader or a more advanced
   * replica — never taking its log as it is: recovery finds the difference and keeps it not ready,
   * saying how to rebuild it, or, should its log now match, makes it a follower again. Without
   * this it kept serving its own version of a committed order while refusing every sync. Does
   * nothing unless it follows.
   */
  reverify(conflict: CommittedEntryConflict): void {
    if (this.state.role !== 'follower') return;
    this.logger.error(`its log differs from the leader's: ${conflict.message}; it serves nothing until its whole log is verified again`);
    this.verified = false;
    this.mustCompare = true;
    this.logDamaged = true;
    this.blockedBy = `its log differs from the leader's below its commit point: ${conflict.message}`;
    this.state.replica.reverify();
    // Queued for the lock before the recovery below: a restart remembers the difference too.
    void this.persistMustCompare(true);
    void this.recover();
  }

  /** Keeps {@link mustCompare} across restarts (`must_compare` in the log's metadata). */
  private async persistMustCompare(value: boolean): Promise<void> {
    if ((this.log.getMeta('must_compare') > 0) === value) return;
    await this.log.updateMeta({ must_compare: value ? 1 : 0 }).catch((err: Error) => {
      this.logger.warn(`could not record that its log ${value ? 'must be compared again' : 'was compared'} (a restart may ${value ? 'forget it' : 'compare it again'}): ${err.message}`);
    });
  }

  /** Logs why recovery cannot finish: at once when the reason changed, else at most every BLOCKED_REPEAT_LOG_MS. */
  private logBlocked(level: 'error' | 'warn', message: string): void {
    if (message === this.blockedLogged.message && Date.now() - this.blockedLogged.at < BLOCKED_REPEAT_LOG_MS) return;
    this.blockedLogged = { at: Date.now(), message };
    this.logger[level](`not ready: ${message}`);
  }

  /**
   * Which copy of committed order `orderNo` another replica holds, when this replica's differs
   * from `source`'s: a third copy tells which of the two files differs from a majority (of three),
   * so that the operator rebuilds that one. Undefined when no other replica has a copy to compare.
   */
  private async secondOpinion(orderNo: number, source: ReplicaAddress, others: ReplicaAddress[]): Promise<SecondOpinion | undefined> {
    const own = await this.log.find(orderNo);
    const theirs = await this.peers.logPage(source, orderNo - 1, 1).then((p) => p.orders.find((o) => o.order_no === orderNo), () => undefined);
    if (!own || !theirs) return undefined;
    for (const peer of others) {
      const copy = await this.peers.logPage(peer, orderNo - 1, 1).then((p) => p.orders.find((o) => o.order_no === orderNo), () => undefined);
      if (copy && sameOrder(copy, own)) return { peer, agreesWith: 'this replica' };
      if (copy && sameOrder(copy, theirs)) return { peer, agreesWith: 'source' };
    }
    return undefined;
  }

  /**
   * With no leader nor more advanced replica in reach (the whole cluster restarting, or both
   * followers of a damaged leader that is gone), compares the log through its commit point with
   * each replica exactly as advanced as this one: by log matching, such a replica holds the same
   * orders, so a difference means that one of the two files is damaged. True once a peer's copy
   * matches, or differs only where a third replica holds this one's copies (a majority: that peer
   * is named to be rebuilt). False when no such peer answers (nothing is committed, or no peer is
   * as advanced: the log is taken as it is, unless it must be compared). Throws {@link DamagedLog}
   * when every such peer differs without a majority for this copy.
   */
  private async compareWithEqualPeers(statuses: { peer: ReplicaAddress; status: ReplicaStatus }[]): Promise<boolean> {
    const own = this.state.status();
    const through = Math.min(own.commit_no, own.last_no);
    // Ready peers first: one verified already settles it.
    const equals = statuses
      .filter((s) => s.status.last_no === own.last_no && s.status.last_epoch === own.last_epoch)
      .sort((a, b) => Number(b.status.ready) - Number(a.status.ready));
    if (through === 0 || equals.length === 0) return false;
    let damaged: DamagedLog | undefined;
    for (const { peer } of equals) {
      const differing = await this.catchUp.differencesWith(peer, through, MAX_DIFFERENCES);
      if (differing.length === 0) {
        this.logger.log(`its log matches replica ${peer.id}'s through its commit point, order ${through}`);
        return true;
      }
      const others = statuses.filter((s) => s.peer.id !== peer.id).map((s) => s.peer);
      const opinions = await Promise.all(differing.map((no) => this.secondOpinion(no, peer, others).catch(() => undefined)));
      if (differing.length < MAX_DIFFERENCES && opinions.every((o) => o?.agreesWith === 'this replica')) {
        const holders = [...new Set(opinions.map((o) => o!.peer.id))].join(', ');
        this.logger.error(
          `replica ${peer.id}'s log differs from this one's below its commit point, at order${differing.length > 1 ? 's' : ''} ${differing.join(', ')}; ` +
            `replica ${holders} holds this replica's copies, so replica ${peer.id}'s are the ones that differ from a majority: rebuild replica ${peer.id} from its peers`,
        );
        return true;
      }
      damaged ??= new DamagedLog(new CommittedEntryConflict(differing[0], through), peer, this.log.dbFile, opinions[0]);
    }
    throw damaged!;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const leader = await this.log.exclusive(async () => {
          const statuses = await this.peers.statuses(this.state.peers);
          const leading = statuses
            .filter((s) => s.status.role === 'leader' && s.status.epoch >= this.state.epoch)
            .sort((a, b) => b.status.epoch - a.status.epoch)[0];
          const source = leading ?? mostAdvancedPeer(statuses, this.state.status());
          if (source) {
            await this.catchUp.catchUpFrom(source.peer, true, !this.verified).catch(async (err: unknown) => {
              if (!(err instanceof CommittedEntryConflict)) throw err;
              const others = statuses.filter((s) => s.peer.id !== source.peer.id).map((s) => s.peer);
              const opinion = await this.secondOpinion(err.orderNo, source.peer, others).catch(() => undefined);
              throw new DamagedLog(err, source.peer, this.log.dbFile, opinion);
            });
            this.verified = true;
          } else if (!this.verified && (await this.compareWithEqualPeers(statuses))) {
            this.verified = true;
          } else if (this.mustCompare) {
            throw new NothingToCompare();
          }
          return leading?.status;
        });
        await this.persistMustCompare(false);
        if (leader) await this.state.acceptLeader(leader.epoch, leader.id);
        this.blockedBy = undefined;
        this.logDamaged = false; // its whole log verified against the source this time
        this.mustCompare = false;
        if (this.state.role === 'recovering') this.state.replica.follow();
        this.logger.log(`recovered: log ends at order ${this.log.lastPosition().order_no}, ready`);
        return;
      } catch (err) {
        if (err instanceof ClusterTokenRejected || err instanceof DamagedLog) {
          this.blockedBy = err instanceof DamagedLog ? err.summary : 'peers reject this replica\'s cluster token (401)';
          // A difference found is never forgotten for want of a source (nor by a restart): it is compared again first.
          if (err instanceof DamagedLog) {
            this.mustCompare = true;
            await this.persistMustCompare(true);
          }
          this.logDamaged = this.mustCompare;
          this.logBlocked('error', err.message);
          await sleep(BLOCKED_RETRY_MS);
          continue;
        }
        if (err instanceof NothingToCompare) {
          // Not ready, for the reason reverify or the last comparison gave.
          this.logBlocked('warn', err.message);
          await sleep(RETRY_MS);
          continue;
        }
        this.logger.warn(`recovery not finished yet: ${(err as Error).message}`);
        await sleep(RETRY_MS);
      }
    }
  }
}

/** After {@link RecoveryService.reverify} or a damaged log found: no leader nor more advanced replica answers to compare the log with. */
class NothingToCompare extends Error {
  constructor() {
    super('its log must be compared with a leader or a replica at least as advanced again, and none answers yet');
  }
}

/** Another replica's copy of the order on which this replica and its source differ: the same as which one. */
interface SecondOpinion {
  peer: ReplicaAddress;
  agreesWith: 'this replica' | 'source';
}

/**
 * A replica's log differs from its source's at an entry it had committed: one of the two files is
 * damaged (or was edited). It stays not ready; the message says which replica to rebuild from its
 * peers, and how: this one, unless a third replica holds this one's copy of the order, in which
 * case the source's copy is the one that differs from a majority.
 */
class DamagedLog extends Error {
  readonly summary: string;

  constructor(conflict: CommittedEntryConflict, source: ReplicaAddress, dbFile: string, opinion?: SecondOpinion) {
    let summary = `its log differs from replica ${source.id}'s below its commit point: ${conflict.message}`;
    if (opinion?.agreesWith === 'this replica') {
      summary += `; replica ${opinion.peer.id} holds the same order ${conflict.orderNo} as this replica, so replica ${source.id}'s copy is the one that differs from a majority`;
      super(`${summary}: rebuild replica ${source.id} from its peers (stop it, delete or move aside its database file and start it again), not this one`);
    } else {
      if (opinion) summary += `; replica ${opinion.peer.id} holds replica ${source.id}'s copy of order ${conflict.orderNo}`;
      super(`${summary}; to rebuild it from its peers, stop it, delete (or move aside) ${dbFile}* and start it again`);
    }
    this.summary = summary;
  }
}
