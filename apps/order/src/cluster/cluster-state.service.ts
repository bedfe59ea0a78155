import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Subject } from 'rxjs';
import { MAX_TRADE_BATCH, OrderEnv, OrderRecordDto, ReplicaAddress, ReplicaRefusal, ReplicaRole, ReplicaStatus } from '@app/contracts';
import { Batcher, Unavailable } from '@app/common';
import { MetaKey, NewOrder, OrderLogService } from '../orders/order-log.service';
import { LeaderOutcome, ReplicaState, VoteOutcome } from './replica-state';

type Decision = 'apply' | 'known' | 'refused';

/** A vote's or a leader's outcome as what {@link ClusterStateService} must do: apply it, nothing, or refuse. */
function fromOutcome(outcome: VoteOutcome | LeaderOutcome, applies: 'granted' | 'accepted'): Decision {
  return outcome === applies ? 'apply' : outcome === 'known' ? 'known' : 'refused';
}

type AppendResult = { record: OrderRecordDto; created: boolean };

/** An order waiting for {@link ClusterStateService.appendAsLeader}'s next batch. */
interface PendingAppend {
  order: NewOrder;
  /** Told the order's entry once it is numbered and sent to the followers, before this replica's write is over. */
  numbered?: (record: OrderRecordDto) => void;
}

/**
 * Who this replica is and what it believes about the cluster. The state itself (role, epoch,
 * leader, commit and acknowledgement points) is a {@link ReplicaState}, changed only through its
 * named transitions; this service loads it from the log's metadata, makes votes durable before
 * they count, and appends orders as leader.
 *
 * Epochs only grow. Granting a newer epoch to another replica while leading means that replica
 * was elected: {@link deposed$} fires and the leadership service steps down.
 */
@Injectable()
export class ClusterStateService implements OnModuleInit {
  private readonly logger = new Logger(ClusterStateService.name);
  readonly id: number;
  readonly self: ReplicaAddress;
  readonly peers: ReplicaAddress[];
  /** Its own log may be damaged (set by RecoveryService): shown in {@link status} as `log_suspect`. */
  logSuspect = false;
  private machine?: ReplicaState;
  readonly deposed$ = new Subject<{ epoch: number; leader: number }>();
  private readonly appends = new Batcher<PendingAppend, AppendResult>((pending) => this.appendBatch(pending), { maxBatch: MAX_TRADE_BATCH });

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

  async onModuleInit(): Promise<void> {
    await this.log.load();
    // A new or emptied file (first start, or rebuilt after its file was lost): what this replica
    // voted for, led and acknowledged before is gone. Kept on disk before anything else is written
    // (a sync's epoch, a catch-up's first page), so that a restart midway still knows it.
    const rejoining = this.log.getMeta('rejoining') === 1 || this.pristine();
    if (rejoining && this.log.getMeta('rejoining') !== 1) await this.log.updateMeta({ rejoining: 1 });
    this.machine = new ReplicaState(
      this.id,
      {
        epoch: this.log.getMeta('epoch'),
        // A file written before votes and leaders were kept apart holds the vote as its leader.
        votedFor: this.log.getMeta('voted_for') || this.log.getMeta('leader'),
        leader: this.log.getMeta('leader'),
        commitNo: this.log.getMeta('commit_no'),
        // A file written before `led_epoch` was kept: a replica whose vote names itself may have led that epoch.
        ledEpoch: Math.max(this.log.getMeta('led_epoch'), (this.log.getMeta('voted_for') || this.log.getMeta('leader')) === this.id ? this.log.getMeta('epoch') : 0),
        rejoining,
      },
      (from, to, epoch) => this.logger.log(`role ${from} → ${to} (epoch ${epoch})`),
    );
  }

  /** No entry and no epoch, vote, leader or commit point: a file just created (or emptied). */
  private pristine(): boolean {
    const keys: MetaKey[] = ['epoch', 'voted_for', 'leader', 'commit_no', 'led_epoch'];
    return this.log.lastPosition().order_no === 0 && keys.every((k) => this.log.getMeta(k) === 0);
  }

  /**
   * A rejoining replica's first recovery has learnt the cluster's log and its newest epoch from
   * enough peers (see RecoveryService): that epoch is adopted with no vote, and `rejoining` is
   * cleared, in one durable write, before it counts (see {@link ReplicaState.rejoined}). The caller
   * holds the log lock.
   */
  async rejoinedUnderLock(newestEpoch: number): Promise<void> {
    const raise = newestEpoch > this.epoch;
    await this.log.append([], {
      ...(raise && { epoch: newestEpoch, voted_for: 0, leader: 0 }),
      led_epoch: Math.max(this.log.getMeta('led_epoch'), newestEpoch),
      rejoining: 0,
    });
    this.replica.rejoined(newestEpoch);
    this.logger.log(`rejoined the cluster in epoch ${this.epoch}: it votes again from now on`);
  }

  /** The state machine; its transitions are the only way to change role, epoch, leader and the commit point. */
  get replica(): ReplicaState {
    if (!this.machine) throw new Error('the replica state is read before the order log was loaded');
    return this.machine;
  }

  get role(): ReplicaRole {
    return this.replica.role;
  }

  get epoch(): number {
    return this.replica.epoch;
  }

  get leaderId(): number | null {
    return this.replica.leader;
  }

  get commitNo(): number {
    return this.replica.commitNo;
  }

  get ready(): boolean {
    return this.replica.ready;
  }

  /** Size of a majority of all replicas. */
  get majority(): number {
    return Math.floor((this.peers.length + 1) / 2) + 1;
  }

  peer(id: number | null): ReplicaAddress | undefined {
    return this.peers.find((p) => p.id === id);
  }

  /**
   * A vote (a candidate's request, or the front end announcing its candidate): grants `epoch` to
   * `candidate` if it is newer than any epoch seen (see {@link ReplicaState.decideVote}), durably —
   * under the log lock, written to the log's metadata before it counts. Returns false when refused:
   * a stale epoch, or the current epoch already granted to another candidate (two front ends may
   * hand out the same number; an epoch is granted once). Emits {@link deposed$} when this replica
   * was leading and another one is now the candidate.
   */
  grantVote(epoch: number, candidate: number): Promise<boolean> {
    return this.durably(
      () => fromOutcome(this.replica.decideVote(epoch, candidate), 'granted'),
      () => ({ epoch, voted_for: candidate, leader: candidate }),
      () => this.replica.grantVote(epoch, candidate),
      { epoch, leader: candidate },
    );
  }

  /**
   * Learns that `leader` leads `epoch` (its sync, or its status as a leading peer), durably. In the
   * current epoch this may replace the candidate this replica voted for: that one lost, and the
   * winner's syncs must be applied. Returns false for an older epoch (fencing). Emits
   * {@link deposed$} when this replica was promoting or leading and `leader` is another.
   */
  acceptLeader(epoch: number, leader: number): Promise<boolean> {
    return this.durably(
      () => fromOutcome(this.replica.decideLeader(epoch, leader), 'accepted'),
      () => (epoch > this.epoch ? { epoch, voted_for: leader, leader } : { leader }),
      () => this.replica.acceptLeader(epoch, leader),
      { epoch, leader },
    );
  }

  /**
   * Begins this replica's promotion to `epoch` (see {@link ReplicaState.decidePromotion}), durably:
   * under the log lock, `led_epoch` is written to the log's metadata before the replica promotes,
   * so that not even a restart lets it lead that epoch twice. `begun` when it now promotes;
   * `known` when it promotes to or leads that epoch already (the same announcement twice);
   * `refused` otherwise — in particular for an epoch it began to lead before and stepped down from.
   */
  async beginPromotion(epoch: number): Promise<'begun' | 'known' | 'refused'> {
    const early = this.replica.decidePromotion(epoch);
    if (early !== 'apply') return early;
    return this.log.exclusive(async () => {
      const decided = this.replica.decidePromotion(epoch);
      if (decided !== 'apply') return decided;
      await this.log.append([], { led_epoch: epoch });
      this.replica.beginPromotion(epoch);
      return 'begun';
    });
  }

  /**
   * Decides; then, under the log lock, decides again (so that two requests cannot both win),
   * writes the metadata and applies the transition. True unless refused.
   */
  private async durably(
    decide: () => Decision,
    meta: () => Partial<Record<MetaKey, number>>,
    apply: () => boolean,
    next: { epoch: number; leader: number },
  ): Promise<boolean> {
    const early = decide();
    if (early !== 'apply') return early === 'known';
    const outcome = await this.log.exclusive(async () => {
      const decided = decide();
      if (decided !== 'apply') return decided;
      await this.log.append([], meta());
      return apply() ? 'deposed' : 'applied';
    });
    if (outcome === 'deposed') {
      this.logger.warn(`deposed: replica ${next.leader} leads epoch ${next.epoch}`);
      this.deposed$.next(next);
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
   *
   * Resolves once this replica's write is over; `numbered`, when given, hears the new entry
   * earlier, as soon as it is numbered and on its way to the followers (see OrderLogService.appendNew).
   */
  appendAsLeader(epoch: number, order: Omit<NewOrder, 'epoch'>, numbered?: (record: OrderRecordDto) => void): Promise<AppendResult> {
    return this.appends.submit({ order: { ...order, epoch }, numbered });
  }

  /** One batch of {@link appendAsLeader}, under the log lock: orders of an epoch this replica no longer leads are refused. */
  private appendBatch(pending: PendingAppend[]): Promise<(AppendResult | Error)[]> {
    return this.log.exclusive(async () => {
      const mayAppend = ({ order }: PendingAppend) => this.replica.mayAppendAsLeader(order.epoch);
      const allowed = pending.filter(mayAppend);
      const appended = await this.log.appendNew(
        allowed.map((p) => p.order),
        { commit_no: this.commitNo },
        (results) => results.forEach((r, i) => !(r instanceof Error) && allowed[i].numbered?.(r.record)),
      );
      // By the orders let in before the write (a step-down during it must not shift the results).
      const results = new Map(allowed.map((p, i) => [p, appended[i]]));
      return pending.map(
        (p) => results.get(p) ?? new Unavailable(`replica ${this.id} no longer leads epoch ${p.order.epoch}`, ReplicaRefusal.notLeader),
      );
    });
  }

  status(): ReplicaStatus {
    const last = this.log.lastPosition();
    return {
      id: this.id,
      role: this.role,
      ready: this.ready,
      epoch: this.epoch,
      leader: this.leaderId,
      last_no: last.order_no,
      last_epoch: last.epoch,
      commit_no: Math.max(this.commitNo, this.log.getMeta('commit_no')),
      ...(this.logSuspect && { log_suspect: true }),
      vouched_through: this.log.vouchedThrough(),
      ...(!this.log.checkedAtStart() && { checking_log: true }),
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
