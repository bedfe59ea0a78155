import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterStateService, mostAdvancedPeer } from '../cluster/cluster-state.service';
import { ClusterTokenRejected, PeersClient } from '../cluster/peers.client';
import { CommittedEntryConflict, OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from './catch-up.service';

const RETRY_MS = 250;
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
 * Only then does the replica become a ready follower and `/ping` answer 200. With no peer
 * reachable (the whole cluster is starting) the local log is taken as it is. Peers that refuse
 * this replica's cluster token are not "unreachable": the replica says so at error level and
 * stays not ready, since it cannot verify that it is caught up.
 */
@Injectable()
export class RecoveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RecoveryService.name);
  private running?: Promise<void>;
  private stopped = false;
  private blockedLoggedAt = 0;
  /** The first recovery since start verifies the whole log; later ones (after leading) start at the commit point. */
  private verified = false;
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
   * (`conflict`): its file is damaged, or the leader's is. It stops following and serving order
   * lookups, and recovers verifying its whole log again, as after a restart: recovery finds the
   * difference and keeps it not ready, saying how to rebuild it, or, should its log now match,
   * makes it a follower again. Without this it kept serving its own version of a committed order
   * while refusing every sync. Does nothing unless it follows.
   */
  reverify(conflict: CommittedEntryConflict): void {
    if (this.state.role !== 'follower') return;
    this.logger.error(`its log differs from the leader's: ${conflict.message}; it serves nothing until its whole log is verified again`);
    this.verified = false;
    this.state.replica.reverify();
    void this.recover();
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
            await this.catchUp.catchUpFrom(source.peer, true, !this.verified).catch((err: unknown) => {
              if (err instanceof CommittedEntryConflict) throw new DamagedLog(err, source.peer.id, this.log.dbFile);
              throw err;
            });
            this.verified = true;
          }
          return leading?.status;
        });
        if (leader) await this.state.acceptLeader(leader.epoch, leader.id);
        this.blockedBy = undefined;
        this.logDamaged = false; // its whole log verified against the source this time
        if (this.state.role === 'recovering') this.state.replica.follow();
        this.logger.log(`recovered: log ends at order ${this.log.lastPosition().order_no}, ready`);
        return;
      } catch (err) {
        if (err instanceof ClusterTokenRejected || err instanceof DamagedLog) {
          this.blockedBy = err instanceof DamagedLog ? err.summary : 'peers reject this replica\'s cluster token (401)';
          this.logDamaged = err instanceof DamagedLog;
          if (Date.now() - this.blockedLoggedAt >= BLOCKED_REPEAT_LOG_MS) {
            this.blockedLoggedAt = Date.now();
            this.logger.error(`not ready: ${err.message}`);
          }
          await sleep(BLOCKED_RETRY_MS);
          continue;
        }
        this.logger.warn(`recovery not finished yet: ${(err as Error).message}`);
        await sleep(RETRY_MS);
      }
    }
  }
}

/**
 * A restarted replica's log differs from its source's at an entry it had committed: its file is
 * damaged (or was edited). It stays not ready; the message says how to rebuild it from its peers.
 */
class DamagedLog extends Error {
  readonly summary: string;

  constructor(conflict: CommittedEntryConflict, sourceId: number, dbFile: string) {
    const summary = `its log differs from replica ${sourceId}'s below its commit point: ${conflict.message}`;
    super(`${summary}; to rebuild it from its peers, stop it, delete (or move aside) ${dbFile}* and start it again`);
    this.summary = summary;
  }
}
