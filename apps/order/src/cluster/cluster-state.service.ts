import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Subject } from 'rxjs';
import { MAX_TRADE_BATCH, OrderEnv, OrderRecordDto, ReplicaAddress, ReplicaRefusal, ReplicaRole, ReplicaStatus } from '@app/contracts';
import { Batcher, Unavailable } from '@app/common';
import { NewOrder, OrderLogService } from '../orders/order-log.service';

type AppendResult = { record: OrderRecordDto; created: boolean };

/**
 * Who this replica is and what it believes about the cluster: its role, the highest epoch it has
 * seen (persisted), the leader of that epoch, and — while leading — the commit point.
 *
 * Epochs only grow. Learning a higher epoch while leading means another replica was elected:
 * {@link deposed$} fires and the leadership service steps down.
 */
@Injectable()
export class ClusterStateService {
  private readonly logger = new Logger(ClusterStateService.name);
  readonly id: number;
  readonly self: ReplicaAddress;
  readonly peers: ReplicaAddress[];
  private currentRole: ReplicaRole = 'recovering';
  /** Highest order number known durable on enough replicas (leader: computed; follower: learnt). */
  commitNo = 0;
  /** Settles when a promotion in progress has finished (the new leader has caught up). */
  promotion: Promise<void> = Promise.resolve();
  readonly deposed$ = new Subject<{ epoch: number; leader: number }>();
  private readonly appends = new Batcher<NewOrder, AppendResult>((orders) => this.appendBatch(orders), { maxBatch: MAX_TRADE_BATCH });

  constructor(
    config: ConfigService<OrderEnv, true>,
    private readonly log: OrderLogService,
  ) {
    this.id = config.get('ORDER_ID', { infer: true });
    const replicas = config.get('ORDER_REPLICAS', { infer: true });
    const self = replicas.find((r) => r.id === this.id);
    if (!self) throw new Error(`ORDER_ID ${this.id} is not listed in ORDER_REPLICAS`);
    this.self = self;
    this.peers = replicas.filter((r) => r.id !== this.id);
  }

  get role(): ReplicaRole {
    return this.currentRole;
  }

  set role(role: ReplicaRole) {
    if (role !== this.currentRole) this.logger.log(`role ${this.currentRole} → ${role} (epoch ${this.epoch})`);
    this.currentRole = role;
  }

  get epoch(): number {
    return this.log.getMeta('epoch');
  }

  get leaderId(): number | null {
    return this.log.getMeta('leader') || null;
  }

  get ready(): boolean {
    return this.currentRole !== 'recovering';
  }

  /** Size of a majority of all replicas. */
  get majority(): number {
    return Math.floor((this.peers.length + 1) / 2) + 1;
  }

  peer(id: number | null): ReplicaAddress | undefined {
    return this.peers.find((p) => p.id === id);
  }

  /**
   * Records an epoch and its leader if it is at least the highest seen. Returns false for a stale
   * epoch, and for the current epoch named with another leader: an epoch has one leader (two
   * front ends may hand out the same number). Emits {@link deposed$} when this replica was
   * leading and another one now leads.
   */
  async observeEpoch(epoch: number, leader: number): Promise<boolean> {
    if (epoch < this.epoch) return false;
    if (epoch === this.epoch && leader === this.leaderId) return true;
    // Decided again under the log lock, so that two announcements of one epoch cannot both win.
    const outcome = await this.log.exclusive(async () => {
      if (epoch < this.epoch || (epoch === this.epoch && this.leaderId !== null && leader !== this.leaderId)) return 'refused';
      if (epoch === this.epoch && leader === this.leaderId) return 'known';
      const wasLeading = this.currentRole === 'leader' || this.currentRole === 'promoting';
      await this.log.append([], { epoch, leader });
      return wasLeading && leader !== this.id ? 'deposed' : 'adopted';
    });
    if (outcome === 'deposed') {
      this.logger.warn(`deposed: replica ${leader} leads epoch ${epoch}`);
      this.deposed$.next({ epoch, leader });
    }
    return outcome !== 'refused';
  }

  /**
   * Appends a new order (or finds the one with the same request id) as leader of `epoch`. Checked
   * under the log lock: a replica deposed while its trade was at the catalog must not write an
   * entry after it started recovering — the new leader records that trade from the catalog.
   *
   * Group commit: orders submitted while a batch is being written go into the next batch, one
   * transaction (one fsync) for the lot, numbered in submission order.
   */
  appendAsLeader(epoch: number, order: Omit<NewOrder, 'epoch'>): Promise<AppendResult> {
    return this.appends.submit({ ...order, epoch });
  }

  /** One batch of {@link appendAsLeader}, under the log lock: orders of an epoch this replica no longer leads are refused. */
  private appendBatch(orders: NewOrder[]): Promise<(AppendResult | Error)[]> {
    return this.log.exclusive(async () => {
      const leading = this.currentRole === 'leader' || this.currentRole === 'promoting';
      const mayAppend = (o: NewOrder) => leading && o.epoch === this.epoch;
      const appended = await this.log.appendNew(orders.filter(mayAppend), { commit_no: this.commitNo });
      let next = 0;
      return orders.map((o) =>
        mayAppend(o) ? appended[next++] : new Unavailable(`replica ${this.id} no longer leads epoch ${o.epoch}`, ReplicaRefusal.notLeader),
      );
    });
  }

  status(): ReplicaStatus {
    const last = this.log.lastPosition();
    return {
      id: this.id,
      role: this.currentRole,
      ready: this.ready,
      epoch: this.epoch,
      leader: this.leaderId,
      last_no: last.order_no,
      last_epoch: last.epoch,
      commit_no: Math.max(this.commitNo, this.log.getMeta('commit_no')),
    };
  }
}

/** Log order used to pick the most advanced replica: epoch of the last entry, then its number. */
export function moreAdvanced(a: { last_epoch: number; last_no: number }, b: { last_epoch: number; last_no: number }): boolean {
  return a.last_epoch !== b.last_epoch ? a.last_epoch > b.last_epoch : a.last_no > b.last_no;
}

/** The peer whose log is most advanced, if it is more advanced than `than`. */
export function mostAdvancedPeer<T extends { status: ReplicaStatus }>(peers: T[], than: ReplicaStatus): T | undefined {
  return peers
    .filter((p) => moreAdvanced(p.status, than))
    .sort((a, b) => (moreAdvanced(a.status, b.status) ? -1 : 1))[0];
}
