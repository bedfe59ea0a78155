import { Logger } from '@nestjs/common';
import { MAX_BODY_BYTES, OrderRecordDto, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { monotonicNow } from '@app/common';
import { PeersClient } from '../cluster/peers.client';
import { OrderLogService } from '../orders/order-log.service';

/** What a link needs from the leader it belongs to. */
export interface LinkContext {
  readonly leaderId: number;
  readonly epoch: number;
  readonly batchSize: number;
  readonly log: OrderLogService;
  readonly peers: PeersClient;
  /** False once the leader stopped leading this epoch: the push ends. */
  current(): boolean;
  /** The commit point to tell the follower. */
  commitNo(): number;
  /** The follower accepted a sync through `through`. */
  accepted(link: FollowerLink, through: number): void;
  /** The follower refused a sync as stale: a newer epoch exists. */
  staleEpoch(peer: ReplicaAddress): Promise<void>;
  /** A sync failed (no answer, or a refusal): the follower holds nothing new. */
  failed(link: FollowerLink): void;
}

/**
 * The leader's link to one follower (Raft's nextIndex and matchIndex, and the AppendEntries
 * loop): it pushes the log with `POST /sync` from {@link nextNo}, one request in flight at a
 * time so that syncs arrive in order, and goes round again while entries were appended
 * meanwhile (they travel together). Each sync names the entry just before its batch
 * (`prev`: number and epoch), which the follower must hold for the batch to apply.
 */
export class FollowerLink {
  private readonly logger = new Logger(FollowerLink.name);
  /** Highest order number known to be durable on the follower and equal to ours. */
  matchNo = 0;
  /** When the follower last accepted a sync (ms since epoch); 0 = never this epoch. */
  lastContact = 0;
  /**
   * When the leader stopped counting on this follower for a majority (see ReplicatorService.kick):
   * its last sync failed (no answer, or a refusal), or went unanswered past SPARE_RESCUE_MS; 0 once
   * it accepts a sync.
   */
  suspectSince = 0;
  private inflight?: Promise<void>;
  /** When the sync now awaiting the follower's answer was sent (ms since epoch); 0 = none. */
  private sentAt = 0;
  /** Syncs sent so far; each sync's number is the count when it was sent. */
  sends = 0;
  /** The number of the last sync the follower accepted (see {@link sends}): it then still followed this leader. */
  acceptedSend = 0;

  constructor(
    readonly peer: ReplicaAddress,
    /** Next order number to send; starts optimistic (after the commit point at promotion, or our last + 1), the follower repairs gaps itself. */
    public nextNo: number,
    private readonly ctx: LinkContext,
  ) {}

  /** How long the sync under way has been waiting for the follower's answer, in ms (0: none under way). */
  pendingMs(now = monotonicNow()): number {
    return this.sentAt === 0 ? 0 : Math.max(0, now - this.sentAt);
  }

  /** Pushes what the follower lacks (an empty heartbeat when nothing); shares a push already under way. */
  pump(): Promise<void> {
    if (!this.ctx.current()) return Promise.resolve();
    this.inflight ??= this.run();
    return this.inflight;
  }

  /**
   * The push under way, until the follower has everything: an entry appended after the push's
   * last look at the log, but before the push was over (a pump then shares it), is sent too
   * instead of waiting for the next heartbeat. The push is no longer shared from the moment that
   * look finds nothing new.
   */
  private async run(): Promise<void> {
    try {
      while ((await this.push()) && this.ctx.current() && this.nextNo <= this.ctx.log.lastPosition().order_no);
    } finally {
      this.inflight = undefined;
    }
  }

  /** It did not accept the orders it was sent in time: not counted on until it accepts a sync. */
  overdue(): void {
    if (this.suspectSince === 0) this.suspectSince = monotonicNow();
  }

  private fail(): void {
    this.suspectSince = monotonicNow();
    this.sentAt = 0;
    if (this.ctx.current()) this.ctx.failed(this);
  }

  /** Syncs until the follower has every entry; true if it then does, false on a failure or a refusal. */
  private async push(): Promise<boolean> {
    const { log } = this.ctx;
    try {
      while (this.ctx.current()) {
        const last = log.lastPosition();
        const prevNo = this.nextNo - 1;
        const batch = this.nextNo <= last.order_no ? fitSyncBody(await log.page(prevNo, this.ctx.batchSize)) : [];
        const prevEpoch = prevNo === 0 ? 0 : prevNo === last.order_no ? last.epoch : ((await log.find(prevNo))?.epoch ?? 0);
        this.sentAt = monotonicNow();
        const send = ++this.sends;
        const res = await this.ctx.peers.sync(this.peer, {
          leader: this.ctx.leaderId,
          epoch: this.ctx.epoch,
          commit_no: this.ctx.commitNo(),
          reconciled_seq: log.getMeta('reconciled_seq'),
          prev: { order_no: prevNo, epoch: prevEpoch },
          orders: batch,
        });
        this.sentAt = 0;
        if (!this.ctx.current()) return false;
        if (res.status !== 200) {
          this.fail();
          if (res.data?.code === ReplicaRefusal.staleEpoch) await this.ctx.staleEpoch(this.peer);
          return false; // recovering or refusing: retried on the next heartbeat
        }
        this.lastContact = monotonicNow();
        this.acceptedSend = Math.max(this.acceptedSend, send);
        this.suspectSince = 0;
        const through = batch.length > 0 ? batch[batch.length - 1].order_no : prevNo;
        this.matchNo = Math.max(this.matchNo, through);
        this.nextNo = through + 1;
        this.ctx.accepted(this, through);
        if (this.nextNo > log.lastPosition().order_no) return true;
      }
      return false;
    } catch (err) {
      this.logger.debug(`sync to replica ${this.peer.id} failed: ${(err as Error).message}`);
      this.fail();
      return false;
    } finally {
      this.sentAt = 0;
    }
  }
}

/** Room for the orders of one sync: the body limit less its other fields (under 200 bytes) and a margin. */
export const SYNC_ORDERS_BYTES = MAX_BODY_BYTES - 1024;

/**
 * Most bytes one order takes in JSON: a request id and a key of 128 characters each, every one a
 * quote or backslash (escaped to 2 bytes), a 64-character stock name, the numbers at their largest.
 */
export const MAX_ORDER_JSON_BYTES = 800;

/**
 * The longest prefix of `orders` whose JSON fits in one sync body; at least one order. A follower
 * refuses a larger body (413), and the link would send the same page again on every retry, the
 * follower never catching up while this leader leads: SYNC_BATCH_SIZE may be 1000, and at its
 * default of 200, orders with the longest ids and keys the contract allows do not fit in 64 KiB.
 * A batch that fits at any size (a trade's batch, usually) is not measured.
 */
export function fitSyncBody(orders: OrderRecordDto[]): OrderRecordDto[] {
  if (orders.length * MAX_ORDER_JSON_BYTES <= SYNC_ORDERS_BYTES) return orders;
  let bytes = 2; // [ ]
  for (let i = 0; i < orders.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(orders[i])) + (i > 0 ? 1 : 0);
    if (bytes > SYNC_ORDERS_BYTES) return orders.slice(0, Math.max(1, i));
  }
  return orders;
}
