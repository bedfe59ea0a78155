import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { ReplicaRefusal } from '@app/contracts';
import { Unavailable } from '@app/common';
import { ClusterStateService, moreAdvanced } from '../cluster/cluster-state.service';
import { PeersClient } from '../cluster/peers.client';
import { OrderLogService } from '../orders/order-log.service';
import { CatchUpService } from '../recovery/catch-up.service';
import { ReconcilerService } from './reconciler.service';
import { ReplicatorService } from './replicator.service';

const RETRY_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A replica's life cycle: recovering → follower ⇄ promoting → leader.
 *
 * - At start-up (and after being deposed) the replica recovers: it fetches every order it missed
 *   from the leader, or with no leader from the most advanced live replica, and drops a divergent
 *   unacknowledged tail. Only then does `/ping` report it ready.
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
  private recovering?: Promise<void>;

  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    private readonly catchUp: CatchUpService,
    private readonly replicator: ReplicatorService,
    private readonly reconciler: ReconcilerService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.state.deposed$.subscribe(() => this.stepDown());
    setImmediate(() => void this.recover());
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
          await this.log.exclusive(async () => {
            const best = (await this.peers.statuses(this.state.peers))
              .filter((s) => moreAdvanced(s.status, this.state.status()))
              .sort((a, b) => (moreAdvanced(a.status, b.status) ? -1 : 1))[0];
            if (best) await this.catchUp.catchUpFrom(best.peer, true);
          });
          if (this.state.role !== 'promoting' || this.state.epoch !== epoch) return;
          this.replicator.start(epoch);
          await this.replicator.pumpAll();
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

  private stepDown(): void {
    this.replicator.stop('a newer epoch has a different leader');
    this.reconciler.stop();
    this.state.role = 'recovering';
    void this.recover();
  }

  /**
   * Brings the log up to date before the replica serves: from the leader if one is known and
   * reachable, otherwise from the most advanced reachable replica. With no peer reachable (the
   * whole cluster is starting) the local log is taken as it is.
   */
  recover(): Promise<void> {
    this.recovering ??= (async () => {
      this.state.role = 'recovering';
      while (!this.stopped) {
        try {
          const learnt = await this.log.exclusive(async () => {
            const statuses = await this.peers.statuses(this.state.peers);
            const leader = statuses
              .filter((s) => s.status.role === 'leader' && s.status.epoch >= this.state.epoch)
              .sort((a, b) => b.status.epoch - a.status.epoch)[0];
            const source =
              leader ??
              statuses
                .filter((s) => moreAdvanced(s.status, this.state.status()))
                .sort((a, b) => (moreAdvanced(a.status, b.status) ? -1 : 1))[0];
            if (source) await this.catchUp.catchUpFrom(source.peer, true);
            return leader?.status;
          });
          if (learnt) await this.state.observeEpoch(learnt.epoch, learnt.id);
          if (this.state.role === 'recovering') this.state.role = 'follower';
          this.logger.log(`recovered: log ends at order ${this.log.lastPosition().order_no}, ready`);
          return;
        } catch (err) {
          this.logger.warn(`recovery not finished yet: ${(err as Error).message}`);
          await sleep(RETRY_MS);
        }
      }
    })().finally(() => (this.recovering = undefined));
    return this.recovering;
  }
}
