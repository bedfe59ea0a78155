import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { Unavailable } from '@app/common';
import { ClusterStateService, mostAdvancedPeer } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from '../recovery/catch-up.service';
import { RecoveryService } from '../recovery/recovery.service';
import { ReconcilerService } from './reconciler.service';
import { ReplicatorService } from './replicator.service';

const RETRY_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A replica's life cycle: recovering → follower ⇄ promoting → leader (recovery: RecoveryService).
 *
 * - When the front end names it leader of a new epoch it first catches up with the most advanced
 *   live replica, starts replicating, records any catalog trade missing from the log, and only
 *   then takes trades.
 * - Learning a newer epoch led by another replica deposes it: replication stops, waiting trades
 *   are refused, and it recovers from the new leader.
 */
@Injectable()
export class LeadershipService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LeadershipService.name);
  private subscription?: Subscription;
  private stopped = false;

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly catchUp: CatchUpService,
    private readonly replicator: ReplicatorService,
    private readonly reconciler: ReconcilerService,
    private readonly recovery: RecoveryService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.state.deposed$.subscribe(() => this.stepDown());
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
    this.replicator.stop('shutting down');
    this.reconciler.stop();
  }

  /** `GET /leader?leader=&epoch=`: the front end announces an election result. */
  async onLeaderNotice(leader: number, epoch: number): Promise<void> {
    if (leader !== this.state.id && !this.state.peer(leader)) throw new Unavailable(`unknown replica ${leader}`);
    if (leader === this.state.id && this.state.role === 'recovering') {
      throw new Unavailable(`replica ${this.state.id} is still recovering`, ReplicaRefusal.notReady);
    }
    const previousEpoch = this.state.epoch;
    if (!(await this.state.observeEpoch(epoch, leader))) {
      throw new Unavailable(`epoch ${epoch} is stale (current ${this.state.epoch})`, ReplicaRefusal.staleEpoch);
    }
    // A follower named leader is promoted; so is a leader named again in a newer epoch
    // (its followers would refuse syncs of the old one).
    if (leader === this.state.id && (this.state.role === 'follower' || epoch > previousEpoch)) this.promote(epoch);
  }

  /** Waits for a promotion under way; refuses unless this replica then leads `epoch`. */
  async assertLeading(epoch: number): Promise<void> {
    if (this.state.role === 'promoting') await this.state.promotion;
    if (epoch < this.state.epoch) {
      throw new Unavailable(`epoch ${epoch} is stale (current ${this.state.epoch})`, ReplicaRefusal.staleEpoch);
    }
    if (this.state.role !== 'leader' || epoch !== this.state.epoch) {
      throw new Unavailable(`replica ${this.state.id} is not the leader of epoch ${epoch}`, ReplicaRefusal.notLeader);
    }
  }

  private promote(epoch: number): void {
    this.state.role = 'promoting';
    this.state.promotion = (async () => {
      while (!this.stopped && this.state.role === 'promoting' && this.state.epoch === epoch) {
        try {
          // Every committed order is on a majority, so the most advanced log among any majority
          // (this replica and majority − 1 peers) holds all of them: no need to wait for the rest.
          // Those peers must have adopted this epoch first (Raft's votes): a replica that adopted
          // it applies no sync of an older epoch, so the old leader cannot commit an order with
          // them after their logs were read — an order this catch-up would miss and this leader
          // would then overwrite at the same number. (Asked before taking the log lock: a peer's
          // adoption takes its own.)
          const voters = await this.adoptedBy(epoch, this.state.majority - 1);
          await this.log.exclusive(async () => {
            const answered = (await this.peers.statuses(voters)).filter((p) => p.status.epoch === epoch);
            if (answered.length < this.state.majority - 1) {
              throw new Error(`only ${answered.length} peer(s) adopted epoch ${epoch} and answered; ${this.state.majority - 1} needed`);
            }
            const best = mostAdvancedPeer(answered, this.state.status());
            if (best) await this.catchUp.catchUpFrom(best.peer, true);
          });
          if (this.state.role !== 'promoting' || this.state.epoch !== epoch) return;
          this.replicator.start(epoch);
          await this.reconciler.runOnce();
          if (this.state.role !== 'promoting' || this.state.epoch !== epoch) return;
          this.reconciler.start();
          this.state.role = 'leader';
          this.logger.log(`leading epoch ${epoch} from order ${this.log.lastPosition().order_no}`);
          return;
        } catch (err) {
          this.logger.warn(`promotion to epoch ${epoch} not finished yet: ${(err as Error).message}`);
          await sleep(RETRY_MS);
        }
      }
    })();
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

  private stepDown(): void {
    this.replicator.stop('a newer epoch has a different leader');
    this.reconciler.stop();
    this.state.role = 'recovering';
    void this.recovery.recover();
  }
}
