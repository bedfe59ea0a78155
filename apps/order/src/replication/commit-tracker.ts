import { ReplicaRefusal } from '@app/contracts';
import { Unavailable } from '@app/common';
import { ReplicaState } from '../cluster/replica-state';

interface Waiter {
  orderNo: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Leader side: turns what each replica holds (the leader's last order, each follower's match
 * position) into the two points of {@link ReplicaState}, and answers the trades waiting for them.
 *
 * - The commit point is the highest number a majority holds, once that is `ownFrom` or beyond:
 *   such entries are never dropped, and lookups and catch-ups rely on them. Below `ownFrom` lie
 *   the entries this leader inherited from older epochs, still stamped with them: as in Raft, a
 *   majority holding one of those does not commit it (a replica whose log ends in an epoch in
 *   between could still lead and replace it), the first entry stamped with this epoch does (see
 *   LeadershipService.adoptInherited).
 * - The acknowledgement point is the highest number `requiredAcks` replicas hold (the same with
 *   the default majority; the leader alone with `ORDER_ACK_MODE=leader`). A trade is answered
 *   once its order is at or below it, or refused with 503 `not_durable` after the durability
 *   timeout.
 */
export class CommitTracker {
  private waiters: Waiter[] = [];

  constructor(
    private readonly state: ReplicaState,
    private readonly majority: number,
    readonly requiredAcks: number,
    private readonly durabilityTimeoutMs: number,
    private readonly ownFrom = 0,
  ) {}

  /** Recomputes both points from the leader's last order and the followers' match positions; answers the trades now durable. */
  update(leaderLast: number, followerMatches: number[]): void {
    const held = [leaderLast, ...followerMatches].sort((a, b) => b - a);
    const counted = (n: number) => (n >= this.ownFrom ? n : 0);
    this.state.advanceCommit(counted(held[this.majority - 1] ?? 0));
    // With one required ack (`ORDER_ACK_MODE=leader`) the one is the leader's own copy, which
    // lookups then vouch for; a follower may hold an entry before the leader has written it.
    this.state.advanceAck(this.requiredAcks === 1 ? leaderLast : counted(held[this.requiredAcks - 1] ?? 0));
    const ackNo = this.state.ackNo;
    const done = this.waiters.filter((w) => w.orderNo <= ackNo);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.orderNo > ackNo);
    for (const w of done) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  isDurable(orderNo: number): boolean {
    return this.state.commitNo >= orderNo || (this.state.leading && this.state.ackNo >= orderNo);
  }

  /** Resolves once `orderNo` may be acknowledged; rejects with 503 `not_durable` after the durability timeout. */
  waitDurable(orderNo: number): Promise<void> {
    if (this.isDurable(orderNo)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        orderNo,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Unavailable(`order ${orderNo} is not yet durable on ${this.requiredAcks} replicas`, ReplicaRefusal.notDurable));
        }, this.durabilityTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Refuses every waiting trade with `err` (the leader stops leading). */
  rejectAll(err: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
