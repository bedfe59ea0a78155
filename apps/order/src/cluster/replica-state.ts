import { ReplicaRole } from '@app/contracts';

/** A transition asked for in a state that does not allow it: a bug in the caller, never a client error. */
export class IllegalTransition extends Error {
  override readonly name = 'IllegalTransition';
}

/** What a replica answers when asked to adopt an epoch and its leader (a vote). */
export type VoteOutcome =
  /** The epoch is newer than any this replica has seen: it adopts it and that leader. */
  | 'granted'
  /** The epoch and leader it already adopted: nothing changes. */
  | 'known'
  /** An older epoch, or the current epoch named with another leader: an epoch has one leader. */
  | 'refused';

/** What a replica does when a leader of an epoch makes itself known (a sync, or a peer's status). */
export type LeaderOutcome =
  /** A newer epoch, or the current one's leader learnt: recorded. */
  | 'accepted'
  /** Already known. */
  | 'known'
  /** An older epoch: ignored and refused (fencing). */
  | 'refused';

/** What {@link ReplicaState} starts from: what the replica persisted before it stopped. */
export interface PersistedState {
  epoch: number;
  /** The candidate this replica granted the epoch to (0 or null: none yet). */
  votedFor: number | null;
  /** The replica known to lead the epoch (0 or null: not known). */
  leader: number | null;
  commitNo: number;
  /** The newest epoch this replica began to promote to (0: none): it never leads one twice. */
  ledEpoch?: number;
  /**
   * Its file was new or emptied (a first start, or a replica rebuilt from its peers after its file
   * was lost) and it has not yet learnt the cluster's epoch and log from enough peers: it may have
   * voted, led and acknowledged before, and forgotten it (see {@link ReplicaState.rejoined}).
   */
  rejoining?: boolean;
}

/** What a promotion to an epoch would do now: begin, nothing (already promoting to or leading it), or be refused. */
export type PromotionOutcome = 'apply' | 'known' | 'refused';

export type RoleChange = (from: ReplicaRole, to: ReplicaRole, epoch: number) => void;

/**
 * One replica's view of the cluster, owned in one place and changed only through named
 * transitions (Raft's per-server state, with the front end's election in place of timeouts):
 *
 * ```
 *   recovering ──follow──▶ follower ──beginPromotion──▶ promoting ──becomeLeader──▶ leader
 *        ▲  ▲                   │                           │                          │
 *        │  └──── reverify ◀────┘                           │                          │
 *        └──────────────────────── stepDown ◀──────────────┴──────────────────────────┘
 * ```
 *
 * - **Votes.** {@link grantVote} adopts an epoch only when it is newer than every epoch seen, and
 *   grants each epoch to one candidate (Raft's votedFor). Epochs never go backwards. The caller
 *   makes the vote durable before it calls {@link grantVote} ({@link decideVote} tells it whether to).
 * - **The leader.** Which replica leads the epoch is learnt apart from the vote
 *   ({@link acceptLeader}, from a sync or a leading peer's status): the candidate this replica
 *   voted for may have lost the epoch to another that a majority chose (two front ends can hand
 *   out one epoch number to two candidates), and the winner's syncs must still be applied.
 * - **Commit point.** The highest order number known durable on a majority; it only grows
 *   ({@link advanceCommit}).
 * - **Acknowledgement point.** While leading, the highest number that may be acknowledged to
 *   clients (the commit point with the default majority, the leader's own log with
 *   `ORDER_ACK_MODE=leader`); reset by each promotion.
 *
 * A transition asked for in the wrong state throws {@link IllegalTransition}. The class does no
 * I/O, so every rule above is unit-tested (replica-state.spec.ts).
 */
export class ReplicaState {
  private currentRole: ReplicaRole = 'recovering';
  private currentEpoch: number;
  private vote: number | null;
  private currentLeader: number | null;
  /** The epoch this replica is promoting to or leading (0: none). */
  private ledEpoch = 0;
  /**
   * The newest epoch this replica ever began to promote to, kept across step-downs and restarts
   * (persisted as `led_epoch` before the promotion begins). A replica leads an epoch at most once,
   * as a Raft server leads a term at most once: after a step-down in which it lost entries a
   * follower still holds (its own write failed after they were sent), leading the same epoch
   * again would number new orders at those numbers under the same stamp, two different orders
   * that log matching would take for one.
   */
  private highestLed: number;
  private commit: number;
  private ack = 0;
  /** See {@link PersistedState.rejoining}: it votes for no one until {@link rejoined}. */
  private amnesiac: boolean;

  constructor(
    readonly id: number,
    persisted: PersistedState,
    private readonly onRoleChange: RoleChange = () => undefined,
  ) {
    this.currentEpoch = persisted.epoch;
    this.vote = persisted.votedFor || null;
    this.currentLeader = persisted.leader || null;
    this.commit = persisted.commitNo;
    this.highestLed = persisted.ledEpoch ?? 0;
    this.amnesiac = persisted.rejoining ?? false;
  }

  /**
   * Started on a new or emptied file and not yet {@link rejoined}: whatever it voted for, led or
   * acknowledged before its file was lost is forgotten (Raft's currentTerm, votedFor and log), so it
   * grants no vote — a second vote in an epoch it voted in, or a vote counted by a candidate as a
   * majority member whose log it reads, would break what a majority stands for.
   */
  get rejoining(): boolean {
    return this.amnesiac;
  }

  get role(): ReplicaRole {
    return this.currentRole;
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** The replica known to lead the current epoch, if any (at first, the candidate it voted for). */
  get leader(): number | null {
    return this.currentLeader;
  }

  /** The candidate this replica granted the current epoch to, if any. */
  get votedFor(): number | null {
    return this.vote;
  }

  get commitNo(): number {
    return this.commit;
  }

  get ackNo(): number {
    return this.ack;
  }

  get ready(): boolean {
    return this.currentRole !== 'recovering';
  }

  /** Promoting or leading: trades may be appended under {@link epoch}. */
  get leading(): boolean {
    return this.currentRole === 'leader' || this.currentRole === 'promoting';
  }

  /** Whether a request to adopt `epoch` led by `leader` would be granted, is known, or is refused. Changes nothing. */
  decideVote(epoch: number, candidate: number): VoteOutcome {
    if (this.amnesiac) return 'refused';
    if (epoch > this.currentEpoch) return 'granted';
    if (epoch === this.currentEpoch && candidate === this.vote) return 'known';
    // The current epoch granted to another, or learnt from its leader without a vote of ours
    // (then that leader counts as our vote), or an older epoch.
    return 'refused';
  }

  /**
   * Adopts `epoch` and its `leader` (already made durable by the caller). Returns true when this
   * replica was promoting or leading and another replica now leads: the caller must
   * {@link stepDown}. Throws unless {@link decideVote} says `granted`.
   */
  grantVote(epoch: number, leader: number): boolean {
    const outcome = this.decideVote(epoch, leader);
    if (outcome !== 'granted') throw new IllegalTransition(`cannot grant epoch ${epoch} to replica ${leader}: ${outcome} (epoch ${this.currentEpoch}, voted for ${this.vote})`);
    this.currentEpoch = epoch;
    this.vote = leader;
    this.currentLeader = leader;
    return this.leading && leader !== this.id;
  }

  /** Whether learning that `leader` leads `epoch` would be recorded, is known, or is refused. Changes nothing. */
  decideLeader(epoch: number, leader: number): LeaderOutcome {
    if (epoch < this.currentEpoch) return 'refused';
    if (epoch === this.currentEpoch && leader === this.currentLeader) return 'known';
    return 'accepted';
  }

  /**
   * Records that `leader` leads `epoch` (already made durable by the caller): a newer epoch is
   * adopted with that leader as its vote; in the current epoch, the leader replaces the candidate
   * this replica voted for, which lost. Returns true when this replica was promoting or leading
   * and must {@link stepDown}. Throws unless {@link decideLeader} says `accepted`.
   */
  acceptLeader(epoch: number, leader: number): boolean {
    const outcome = this.decideLeader(epoch, leader);
    if (outcome !== 'accepted') throw new IllegalTransition(`cannot accept replica ${leader} as leader of epoch ${epoch}: ${outcome} (epoch ${this.currentEpoch}, leader ${this.currentLeader})`);
    if (epoch > this.currentEpoch) this.vote = leader;
    this.currentEpoch = epoch;
    this.currentLeader = leader;
    return this.leading && leader !== this.id;
  }

  /**
   * A rejoining replica has learnt, from enough peers that every committed order and every epoch a
   * majority adopted is among what they told it, the cluster's newest epoch (made durable by the
   * caller, with `rejoining` cleared, first). It adopts that epoch with no vote, so it grants none
   * in it (it may have voted in it before) and leads only a newer one (it may have led it before).
   */
  rejoined(newestEpoch: number): void {
    if (!this.amnesiac) throw new IllegalTransition('cannot rejoin: it is not rejoining');
    this.expectRole('rejoin', 'recovering');
    if (newestEpoch > this.currentEpoch) {
      this.currentEpoch = newestEpoch;
      this.vote = null;
      this.currentLeader = null;
    }
    this.highestLed = Math.max(this.highestLed, newestEpoch);
    this.amnesiac = false;
  }

  /** recovering → follower: the log is caught up and verified. */
  follow(): void {
    this.expectRole('follow', 'recovering');
    if (this.amnesiac) throw new IllegalTransition('cannot follow before it has rejoined');
    this.setRole('follower');
  }

  /**
   * follower → recovering: its log differs from its leader's below its commit point (a damaged
   * file), so it serves nothing until a recovery has verified the whole log again.
   */
  reverify(): void {
    this.expectRole('reverify', 'follower');
    this.setRole('recovering');
  }

  /**
   * Whether {@link beginPromotion} to `epoch` would begin now (`apply`), is under way or done
   * already (`known`: promoting to or leading it), or is refused: the epoch is not the current one
   * granted to this replica, it is recovering, or it began to promote to this epoch (or a newer
   * one) before and stepped down since. Changes nothing.
   */
  decidePromotion(epoch: number): PromotionOutcome {
    if (this.leadsEpoch(epoch)) return 'known';
    if (epoch !== this.currentEpoch || this.currentLeader !== this.id || this.currentRole === 'recovering') return 'refused';
    return epoch > this.highestLed ? 'apply' : 'refused';
  }

  /**
   * follower → promoting, for the current epoch granted to this replica (made durable as
   * `led_epoch` by the caller first). A replica promoting to or leading an older epoch that is
   * granted a newer one starts again in the newer one. An epoch it began to promote to once is
   * never begun again (see {@link highestLed}).
   */
  beginPromotion(epoch: number): void {
    if (epoch !== this.currentEpoch || this.currentLeader !== this.id) {
      throw new IllegalTransition(`cannot promote to epoch ${epoch}: epoch ${this.currentEpoch} is granted to replica ${this.currentLeader}`);
    }
    if (this.currentRole === 'recovering') throw new IllegalTransition(`cannot promote to epoch ${epoch} while recovering`);
    if (this.leading && this.ledEpoch >= epoch) throw new IllegalTransition(`already ${this.currentRole} in epoch ${this.ledEpoch}`);
    if (epoch <= this.highestLed) throw new IllegalTransition(`cannot promote to epoch ${epoch} again: it began to lead epoch ${this.highestLed} before`);
    this.highestLed = epoch;
    this.ledEpoch = epoch;
    this.ack = 0;
    this.setRole('promoting');
  }

  /** promoting → leader, once caught up from a majority and reconciled with the catalog. */
  becomeLeader(epoch: number): void {
    this.expectRole('become leader', 'promoting');
    if (epoch !== this.ledEpoch || epoch !== this.currentEpoch) {
      throw new IllegalTransition(`cannot lead epoch ${epoch}: promoting to ${this.ledEpoch}, current epoch ${this.currentEpoch}`);
    }
    this.setRole('leader');
  }

  /** promoting or leader → recovering: deposed, cut off, no majority, or its disk fails. */
  stepDown(): void {
    this.expectRole('step down', 'promoting', 'leader');
    this.ledEpoch = 0;
    this.ack = 0;
    this.setRole('recovering');
  }

  /** Raises the commit point to `orderNo` (never lowers it). */
  advanceCommit(orderNo: number): void {
    this.commit = Math.max(this.commit, orderNo);
  }

  /** Raises the acknowledgement point while promoting or leading (never lowers it). */
  advanceAck(orderNo: number): void {
    if (!this.leading) throw new IllegalTransition(`cannot acknowledge order ${orderNo} as ${this.currentRole}`);
    this.ack = Math.max(this.ack, orderNo);
  }

  /** Promoting to or leading `epoch` already (a repeated announcement changes nothing). */
  leadsEpoch(epoch: number): boolean {
    return this.leading && this.ledEpoch === epoch;
  }

  /** Whether an order of `epoch` may be appended as leader now. */
  mayAppendAsLeader(epoch: number): boolean {
    return this.leading && epoch === this.currentEpoch && epoch === this.ledEpoch;
  }

  private expectRole(transition: string, ...allowed: ReplicaRole[]): void {
    if (!allowed.includes(this.currentRole)) {
      throw new IllegalTransition(`cannot ${transition} as ${this.currentRole} (allowed from ${allowed.join(', ')})`);
    }
  }

  private setRole(role: ReplicaRole): void {
    const from = this.currentRole;
    this.currentRole = role;
    if (from !== role) this.onRoleChange(from, role, this.currentEpoch);
  }
}
