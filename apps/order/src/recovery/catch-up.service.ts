import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { OrderEnv, OrderRecordDto, ReplicaAddress } from '@app/contracts';
import { OrderLogService, sameEntry } from '../orders/order-log.service';
import { PeersClient } from '../cluster/peers.client';

export interface CatchUpResult {
  fetched: number;
  dropped: number;
}

/**
 * Makes this replica's log equal to a source replica's log, in pages.
 *
 * Entries up to the persisted commit point are final everywhere and are not compared again.
 * From there on, entries are compared with the source's: identical ones are kept, the first
 * difference drops this log's tail from that number (orders the cluster never acknowledged,
 * written by a leader that crashed before replicating them) and the source's entries are applied.
 */
@Injectable()
export class CatchUpService {
  private readonly logger = new Logger(CatchUpService.name);
  private readonly pageSize: number;

  constructor(
    private readonly log: OrderLogService,
    private readonly peers: PeersClient,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.pageSize = config.get('SYNC_BATCH_SIZE', { infer: true });
  }

  /**
   * The caller holds the log lock. With `dropBeyondSource`, entries past the source's last one
   * are dropped too (the source is the leader, or more advanced than this replica).
   */
  async catchUpFrom(source: ReplicaAddress, dropBeyondSource: boolean): Promise<CatchUpResult> {
    const result: CatchUpResult = { fetched: 0, dropped: 0 };
    let after = Math.min(this.log.getMeta('commit_no'), this.log.lastPosition().order_no);
    for (;;) {
      const page = await this.peers.logPage(source, after, this.pageSize);
      const theirs = page.orders;
      const mine = theirs.length > 0 ? await this.log.page(after, theirs.length) : [];
      const toAppend: OrderRecordDto[] = [];
      for (const entry of theirs) {
        const own = mine.find((m) => m.order_no === entry.order_no);
        if (toAppend.length === 0 && own && sameEntry(own, entry)) continue;
        if (toAppend.length === 0 && own) {
          result.dropped += await this.log.truncateFrom(entry.order_no);
        }
        toAppend.push(entry);
      }
      await this.log.append(toAppend);
      result.fetched += toAppend.length;
      if (theirs.length > 0) after = theirs[theirs.length - 1].order_no;
      if (theirs.length < this.pageSize) break;
    }
    if (dropBeyondSource && this.log.lastPosition().order_no > after) {
      result.dropped += await this.log.truncateFrom(after + 1);
    }
    if (result.fetched > 0 || result.dropped > 0) {
      this.logger.log(`caught up from replica ${source.id}: ${result.fetched} fetched, ${result.dropped} dropped, last ${this.log.lastPosition().order_no}`);
    }
    return result;
  }
}
