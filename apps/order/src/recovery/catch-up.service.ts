import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { OrderEnv, OrderLogPage, OrderRecordDto, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { Unavailable } from '@app/common';
import { assertChecksums, CommittedEntryConflict, OrderLogService, sameCopy, sameEntry, sameOrder } from '../orders/order-log.service';
import { PeersClient } from '../cluster/peers.client';

export interface CatchUpResult {
  fetched: number;
  dropped: number;
}

/**
 * The source's log changed between two pages of a catch-up: what was applied is a prefix of its
 * log as it was, and the catch-up stops (503) so that its caller starts again from there.
 */
export class SourceChanged extends Unavailable {
  constructor(source: ReplicaAddress, orderNo: number) {
    super(`the log of replica ${source.id} changed at order ${orderNo} between two pages of a catch-up; starting again`, ReplicaRefusal.notReady);
  }
}

/**
 * Makes this replica's log equal to a source replica's log, in pages.
 *
 * Entries are compared with the source's (number, epoch, request id, stock, side, quantity and
 * key): identical ones are kept, the same order stamped with another epoch takes the source's
 * stamp (see OrderLogService.restamp), the first difference drops this log's tail from that
 * number (orders the cluster never acknowledged, written by a leader that crashed before
 * replicating them) and the source's entries are applied. Entries up to the persisted commit
 * point are final everywhere: a catch-up normally starts after them, and one that verifies the
 * log from further back (a restart) refuses with CommittedEntryConflict to replace any of them.
 */
@Injectable()
export class CatchUpService {
  private readonly logger = new Logger(CatchUpService.name);
  private readonly pageSize: number;
  /** Orders fetched and dropped by every catch-up since start (for metrics). */
  readonly totals: CatchUpResult = { fetched: 0, dropped: 0 };
  /** Orders the catch-up under way still has to fetch, as of its last page (0: none under way). */
  remaining = 0;

  constructor(
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.pageSize = config.get('CATCH_UP_PAGE_SIZE', { infer: true });
  }

  /**
   * The caller holds the log lock for the whole catch-up (recovery, promotion: the replica serves
   * no trades meanwhile). With `dropBeyondSource`, entries past the source's last one are dropped
   * too (the source is the leader, or more advanced than this replica). With `verifyAfter`, every
   * entry after that number is compared (0: the whole log), not only those after the commit point,
   * and none at or below the commit point may be replaced (a restart's verification).
   */
  async catchUpFrom(source: ReplicaAddress, dropBeyondSource: boolean, verifyAfter?: number): Promise<CatchUpResult> {
    const result: CatchUpResult = { fetched: 0, dropped: 0 };
    const verifying = verifyAfter !== undefined;
    let after = verifying ? Math.max(0, Math.min(verifyAfter, this.startPoint())) : this.startPoint();
    for await (const { orders, last_no } of this.pages(source, after)) {
      this.add(result, await this.applyPage(after, orders));
      if (orders.length > 0) after = orders[orders.length - 1].order_no;
      this.remaining = Math.max(0, last_no - after);
    }
    this.remaining = 0;
    // Not its committed entries a source lacks (comparison began just below them), unless verifying
    // the log, which refuses to (see truncateFrom): a source lacking them finds a damaged log.
    const keep = verifying ? after : Math.max(after, Math.min(this.log.getMeta('commit_no'), this.log.lastPosition().order_no));
    if (dropBeyondSource && this.log.lastPosition().order_no > keep) {
      result.dropped += await this.log.truncateFrom(keep + 1);
    }
    this.report(source, result);
    return result;
  }

  /**
   * A follower's gap repair: fetches what it misses from the leader of `epoch` *without* holding
   * the log lock (the leader may stop answering mid-way, and a newer leader's syncs must not wait
   * behind that), then applies each page under the lock, as long as `following()` says the replica
   * still follows that leader's epoch. A page that would replace a committed entry calls
   * `onConflict` while the lock is still held, then rejects with that CommittedEntryConflict.
   */
  async repairFrom(leader: ReplicaAddress, following: () => boolean, onConflict: (conflict: CommittedEntryConflict) => void = () => undefined): Promise<CatchUpResult> {
    const result: CatchUpResult = { fetched: 0, dropped: 0 };
    let after = this.startPoint();
    for await (const { orders, last_no } of this.pages(leader, after)) {
      const applied = await this.log.exclusive(async () => {
        if (!following()) return null;
        return this.applyPage(after, orders).catch((err: unknown) => {
          if (err instanceof CommittedEntryConflict) onConflict(err);
          throw err;
        });
      });
      if (!applied) break;
      this.add(result, applied);
      if (orders.length > 0) after = orders[orders.length - 1].order_no;
      this.remaining = Math.max(0, last_no - after);
    }
    this.remaining = 0;
    this.report(leader, result);
    return result;
  }

  /**
   * Compares this log with `source`'s after entry `from` through `through` (this replica's last
   * entry), changing nothing, and returns the numbers at which the source holds another order (at
   * most `max` of them; epoch stamps aside, see sameOrder). Used against a replica exactly as
   * advanced as this one, which by log matching holds the same orders: a difference means that
   * one of the two files is damaged. Rejects if the source's log ends before `through`.
   */
  async differencesWith(source: ReplicaAddress, from: number, through: number, max = 100): Promise<number[]> {
    const differing: number[] = [];
    let after = from;
    if (after >= through) return differing;
    for await (const { orders } of this.pages(source, from)) {
      const upTo = orders.filter((o) => o.order_no <= through);
      const mine = await this.log.page(after, upTo.length);
      for (const entry of upTo) {
        const own = mine[entry.order_no - after - 1];
        if (!(own?.order_no === entry.order_no && sameOrder(own, entry))) differing.push(entry.order_no);
        if (differing.length >= max) return differing;
      }
      if (orders.length > 0) after = orders[orders.length - 1].order_no;
      if (after >= through) return differing;
    }
    throw new Unavailable(`the log of replica ${source.id} ends at order ${after}, before order ${through}: nothing to compare`, ReplicaRefusal.notReady);
  }

  /**
   * The source's log after `after`, page by page, up to its first short page. The next page is
   * fetched while the caller writes this one (a page's fetch and its commit overlap), so a long
   * catch-up costs about the larger of the two per page rather than their sum. The source's log
   * may change between pages either way: each page comes with the source's entry before it
   * (`prev`), which must be the order the previous page ended with, or the catch-up stops
   * ({@link SourceChanged}); and each page is compared with this log as it is applied.
   */
  private async *pages(source: ReplicaAddress, after: number): AsyncGenerator<OrderLogPage> {
    let next: Promise<OrderLogPage> = this.peers.logPage(source, after, this.pageSize);
    let previous: OrderRecordDto | undefined;
    for (;;) {
      const page = await next;
      // An entry changed on its way: refused before anything of the page is applied (or compared).
      assertChecksums(page.orders);
      // Each page must continue the one before: the source's log may have changed in between (a
      // new leader cut its unacknowledged tail and wrote other orders there), and this log would
      // then hold the old entries up to the boundary and the new ones after it. The stamp counts:
      // the same order at the boundary under a newer stamp may follow other orders than before (a
      // retried trade numbered again at the same place after a different one), and only log
      // matching's rule — the same number and stamp, the same log up to there — vouches for what
      // was applied. A restamp alone (a new leader's epoch on the same orders) starts it over too.
      if (previous && page.prev !== undefined && !(page.prev && sameEntry(page.prev, previous))) {
        throw new SourceChanged(source, previous.order_no);
      }
      previous = page.orders[page.orders.length - 1];
      const more = page.orders.length >= this.pageSize;
      if (more) {
        next = this.peers.logPage(source, page.orders[page.orders.length - 1].order_no, this.pageSize);
        // Handled here too, should the caller stop (or fail) before it awaits this prefetch.
        next.catch(() => undefined);
      }
      yield page;
      if (!more) return;
    }
  }

  /**
   * Entries below the commit point are final everywhere: comparison starts at the commit point's
   * own entry. That one may carry another stamp on the source: a leader that did not know it was
   * committed took it over as its last inherited entry and stamped it (see
   * LeadershipService.adoptInherited) — the entry a paused leader committed last, and so its
   * commit point. Compared, it takes the source's stamp, and the replicas' stamps converge.
   */
  startPoint(): number {
    return Math.max(0, Math.min(this.log.getMeta('commit_no'), this.log.lastPosition().order_no) - 1);
  }

  /**
   * Under the lock: makes the log equal to the source's `theirs` (its entries after `after`):
   * identical entries are kept, the first difference drops our tail from there, and the rest is
   * appended. A page that would leave a gap (our log is shorter than `after`) is not applied.
   */
  private async applyPage(after: number, theirs: OrderRecordDto[]): Promise<CatchUpResult> {
    const result: CatchUpResult = { fetched: 0, dropped: 0 };
    if (theirs.length === 0 || after > this.log.lastPosition().order_no) return result;
    // The source's log after the page is stamped no older than the page's last entry (see
    // OrderLogService.dropOlderStampsAfter): ours beyond it under an older stamp is not in it.
    const end = theirs[theirs.length - 1];
    result.dropped += await this.log.dropOlderStampsAfter(end.order_no, end.epoch);
    // Ours after `after`, numbered without gaps: entry n is at n - after - 1 (a page of 1000 is not searched 1000 times).
    // One of ours that does not match its checksum differs from the source's: the source's takes its place.
    const mine = await this.log.pageToCompare(after, theirs.length);
    const toAppend: OrderRecordDto[] = [];
    const restamped: OrderRecordDto[] = [];
    for (const entry of theirs) {
      const candidate = mine[entry.order_no - after - 1];
      const found = candidate?.order_no === entry.order_no ? candidate : undefined;
      const own = found && !('damaged' in found) ? found : undefined;
      if (toAppend.length === 0 && found && !own) {
        // Dropped with the tail after it (refused at or below the commit point), in the step that appends the source's copies.
        result.dropped += await this.log.truncateFrom(entry.order_no);
        toAppend.push(entry);
        continue;
      }
      // The same order, stamped by a newer leader or written at another time (see
      // OrderLogService.restamp): kept, with the source's stamp and copy.
      if (toAppend.length === 0 && own && sameOrder(own, entry)) {
        if (!sameCopy(own, entry)) restamped.push(entry);
        continue;
      }
      if (toAppend.length === 0 && own) result.dropped += await this.log.truncateFrom(entry.order_no);
      toAppend.push(entry);
    }
    await this.log.restamp(restamped);
    await this.log.append(toAppend);
    result.fetched = toAppend.length;
    return result;
  }

  private add(total: CatchUpResult, part: CatchUpResult): void {
    total.fetched += part.fetched;
    total.dropped += part.dropped;
  }

  private report(source: ReplicaAddress, result: CatchUpResult): void {
    this.add(this.totals, result);
    if (result.fetched > 0 || result.dropped > 0) {
      this.logger.log(`caught up from replica ${source.id}: ${result.fetched} fetched, ${result.dropped} dropped, last ${this.log.lastPosition().order_no}`);
    }
  }
}
