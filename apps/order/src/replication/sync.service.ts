import { Injectable } from '@nestjs/common';
import { OrderRecordDto, ReplicaRefusal, SyncDto, SyncResponse } from '@app/contracts';
import { DomainError, InvalidInput, Unavailable } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { assertChecksums, CommittedEntryConflict, OrderLogService, sameCopy, sameOrder } from '../orders/order-log.service';
import { CatchUpService } from '../recovery/catch-up.service';
import { RecoveryService } from '../recovery/recovery.service';

/**
 * Follower side of replication: applies a leader's `POST /sync` in order-number order.
 *
 * A sync from an older epoch is refused (fencing). The entry just before the batch must match
 * ours; when it does not (a gap, or a divergent tail) the follower fetches what it is missing
 * from the leader — without holding its log lock, so a newer leader is never kept waiting behind
 * a leader that stopped answering — and then applies the batch. An entry that differs from ours at the same number
 * replaces our tail from there; an identical one is skipped, so a repeated sync is harmless; the
 * same order stamped with the leader's newer epoch takes that stamp (see OrderLogService.restamp).
 * An entry at or below our commit point that differs from the leader's is never replaced: the
 * sync is refused, and the replica goes back to recovering (see RecoveryService.reverify).
 */
@Injectable()
export class SyncService {
  constructor(
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly catchUp: CatchUpService,
    private readonly recovery: RecoveryService,
  ) {}

  async apply(dto: SyncDto): Promise<SyncResponse> {
    if (dto.leader === this.state.id) throw new InvalidInput('a replica cannot sync from itself');
    // Before anything: an entry changed on its way must not cut this log's tail either.
    assertChecksums(dto.orders);
    const leader = this.state.peer(dto.leader);
    if (!leader) throw new InvalidInput(`unknown leader ${dto.leader}`);
    if (!(await this.state.acceptLeader(dto.epoch, dto.leader))) {
      throw new Unavailable(`epoch ${dto.epoch} is stale (current ${this.state.epoch})`, ReplicaRefusal.staleEpoch);
    }
    if (this.state.role !== 'follower') {
      throw new Unavailable(`replica ${this.state.id} is ${this.state.role}`, ReplicaRefusal.notReady);
    }
    // At most twice: apply, or (gap / divergence before the batch) repair from the leader and apply.
    for (let attempt = 0; ; attempt++) {
      const applied = await this.log.exclusive(async () => {
        if (this.state.epoch !== dto.epoch) {
          throw new Unavailable(`epoch ${dto.epoch} is stale (current ${this.state.epoch})`, ReplicaRefusal.staleEpoch);
        }
        // A sync that waited for the lock while the replica went back to recovering (see below).
        if (this.state.role !== 'follower') throw new Unavailable(`replica ${this.state.id} is ${this.state.role}`, ReplicaRefusal.notReady);
        const prev = dto.prev ?? { order_no: 0, epoch: 0 };
        if (!(await this.matches(prev.order_no, prev.epoch))) return null;
        try {
          return await this.applyBatch(dto, prev.order_no);
        } catch (err) {
          // Still under the lock: no other sync is applied once one has met such a conflict.
          if (err instanceof CommittedEntryConflict) this.recovery.reverify(err);
          throw err;
        }
      });
      if (applied) return applied;
      if (attempt > 0) {
        // Not applied, so the leader must not count it; it tries again on its next heartbeat.
        throw new Unavailable(`log of replica ${this.state.id} does not match the leader's yet`, ReplicaRefusal.notReady);
      }
      try {
        await this.catchUp.repairFrom(
          leader,
          () => this.state.epoch === dto.epoch && this.state.role === 'follower',
          (conflict) => this.recovery.reverify(conflict),
        );
      } catch (err) {
        if (err instanceof DomainError) throw err;
        // The leader's log could not be read (it stopped answering, a one-way partition): not
        // applied, a refusal like any other rather than a 500, and the leader tries again.
        throw new Unavailable(`replica ${this.state.id} could not repair its log from leader ${dto.leader}: ${(err as Error).message}`, ReplicaRefusal.notReady);
      }
    }
  }

  /** Under the lock, with the entry before the batch matching ours: applies the batch in order. */
  private async applyBatch(dto: SyncDto, prevNo: number): Promise<SyncResponse> {
    // The leader's log after the batch is stamped no older than its last entry: ours beyond it
    // under an older stamp is not in it (dropped first, so that a crash midway leaves no restamp
    // before them).
    const end = dto.orders.length > 0 ? dto.orders[dto.orders.length - 1] : (dto.prev ?? { order_no: 0, epoch: 0 });
    await this.log.dropOlderStampsAfter(end.order_no, end.epoch, this.state.commitNo);
    const toAppend: OrderRecordDto[] = [];
    const restamped: OrderRecordDto[] = [];
    for (const entry of dto.orders) {
      if (toAppend.length === 0 && entry.order_no <= this.log.lastPosition().order_no) {
        const own = await this.log.find(entry.order_no);
        // The order we hold, stamped by a newer leader, or written by it at another time: it
        // takes the leader's stamp and copy, and stays.
        if (own && sameOrder(own, entry)) {
          if (!sameCopy(own, entry)) restamped.push(entry);
          continue;
        }
        await this.log.truncateFrom(entry.order_no, this.state.commitNo);
      }
      toAppend.push(entry);
    }
    await this.log.restamp(restamped);
    const through = dto.orders.length > 0 ? dto.orders[dto.orders.length - 1].order_no : prevNo;
    const commitNo = Math.max(this.log.getMeta('commit_no'), Math.min(dto.commit_no, through));
    await this.log.append(toAppend, { commit_no: commitNo, reconciled_seq: dto.reconciled_seq });
    this.state.replica.advanceCommit(commitNo);
    return { last_no: this.log.lastPosition().order_no };
  }

  /**
   * Whether our log holds the leader's entry `orderNo` as it does, and so (log matching) every
   * entry before it. An entry at or below our commit point does: committed orders are the same
   * on every replica that holds them, and a leader holds them all, though its copy may carry a
   * newer epoch's stamp (see OrderLogService.restamp).
   */
  private async matches(orderNo: number, epoch: number): Promise<boolean> {
    const committed = Math.min(Math.max(this.state.commitNo, this.log.getMeta('commit_no')), this.log.lastPosition().order_no);
    // The commit point's own entry is compared: a new leader may have stamped it (see CatchUpService.startPoint).
    if (orderNo === 0 || orderNo < committed) return true;
    const last = this.log.lastPosition();
    if (last.order_no === orderNo) return last.epoch === epoch;
    const own = await this.log.find(orderNo);
    return own !== null && own.epoch === epoch;
  }
}
