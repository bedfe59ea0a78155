import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Mutex } from 'async-mutex';
import { Between, DataSource, EntityManager, MoreThanOrEqual, Repository } from 'typeorm';
import { OrderInfo, OrderRecordDto } from '@app/contracts';
import { Order } from './order.entity';
import { ReplicaMeta } from './replica-meta.entity';

export type MetaKey = 'epoch' | 'leader' | 'commit_no' | 'reconciled_seq';

export interface LogPosition {
  order_no: number;
  epoch: number;
}

export type NewOrder = Omit<OrderRecordDto, 'order_no'>;

/**
 * The replica's order log and its persisted metadata, in its own SQLite file.
 *
 * Every write goes through {@link exclusive}: one writer at a time, so "read the last number,
 * then append" and "compare, truncate, apply" are never interleaved. Reads need no lock.
 * The last position is cached in memory; it changes only under the lock.
 */
@Injectable()
export class OrderLogService implements OnModuleInit {
  private readonly lock = new Mutex();
  private last: LogPosition = { order_no: 0, epoch: 0 };
  private readonly meta = new Map<MetaKey, number>();

  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    @InjectRepository(ReplicaMeta) private readonly metaRepo: Repository<ReplicaMeta>,
    private readonly dataSource: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    const [tail] = await this.orders.find({ order: { orderNo: 'DESC' }, take: 1 });
    this.last = tail ? { order_no: tail.orderNo, epoch: tail.epoch } : { order_no: 0, epoch: 0 };
    for (const row of await this.metaRepo.find()) this.meta.set(row.key as MetaKey, row.value);
  }

  /** Runs `fn` as the only writer of the log. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.runExclusive(fn);
  }

  lastPosition(): LogPosition {
    return { ...this.last };
  }

  getMeta(key: MetaKey): number {
    return this.meta.get(key) ?? 0;
  }

  /** Persists metadata as the only writer. */
  updateMeta(values: Partial<Record<MetaKey, number>>): Promise<void> {
    return this.exclusive(() => this.setMeta(values));
  }

  /** Persists metadata; the caller holds the lock (or passes the transaction it holds it in). */
  private async setMeta(values: Partial<Record<MetaKey, number>>, tx?: EntityManager): Promise<void> {
    const changed = Object.entries(values).filter(([k, v]) => this.meta.get(k as MetaKey) !== v);
    if (changed.length === 0) return;
    await (tx ?? this.dataSource.manager).upsert(
      ReplicaMeta,
      changed.map(([key, value]) => ({ key, value: value as number })),
      ['key'],
    );
    for (const [k, v] of changed) this.meta.set(k as MetaKey, v as number);
  }

  async find(orderNo: number): Promise<OrderRecordDto | null> {
    const row = await this.orders.findOneBy({ orderNo });
    return row ? toRecord(row) : null;
  }

  async findByRequestId(requestId: string): Promise<OrderRecordDto | null> {
    const row = await this.orders.findOneBy({ requestId });
    return row ? toRecord(row) : null;
  }

  /** Entries numbered after `after`, oldest first. */
  async page(after: number, limit: number): Promise<OrderRecordDto[]> {
    const rows = await this.orders.find({
      where: { orderNo: Between(after + 1, after + limit) },
      order: { orderNo: 'ASC' },
    });
    return rows.map(toRecord);
  }

  /**
   * Leader only, under the lock: appends a new order with the next number, or returns the
   * existing entry when the request id is already in the log (a retry, or reconciliation won the race).
   */
  async appendNew(
    order: NewOrder,
    meta?: Partial<Record<MetaKey, number>>,
  ): Promise<{ record: OrderRecordDto; created: boolean }> {
    const existing = await this.findByRequestId(order.request_id);
    if (existing) return { record: existing, created: false };
    const record = { ...order, order_no: this.last.order_no + 1 };
    await this.append([record], meta);
    return { record, created: true };
  }

  /** Under the lock: appends entries that continue the log exactly (next number first). */
  async append(records: OrderRecordDto[], meta?: Partial<Record<MetaKey, number>>): Promise<void> {
    if (records.length === 0 && !meta) return;
    records.forEach((r, i) => {
      if (r.order_no !== this.last.order_no + 1 + i) {
        throw new Error(`log must continue at ${this.last.order_no + 1 + i}, got ${r.order_no}`);
      }
    });
    await this.dataSource.transaction(async (tx) => {
      if (records.length > 0) await tx.insert(Order, records.map(toEntity));
      if (meta) await this.setMeta(meta, tx);
    });
    if (records.length > 0) {
      const tail = records[records.length - 1];
      this.last = { order_no: tail.order_no, epoch: tail.epoch };
    }
  }

  /** Under the lock: drops every entry numbered `from` or later (an unacknowledged, divergent tail). */
  async truncateFrom(from: number): Promise<number> {
    const result = await this.orders.delete({ orderNo: MoreThanOrEqual(from) });
    const [tail] = await this.orders.find({ order: { orderNo: 'DESC' }, take: 1 });
    this.last = tail ? { order_no: tail.orderNo, epoch: tail.epoch } : { order_no: 0, epoch: 0 };
    if (this.getMeta('commit_no') > this.last.order_no) await this.setMeta({ commit_no: this.last.order_no });
    return result.affected ?? 0;
  }

  async count(): Promise<number> {
    return this.orders.count();
  }
}

export function sameEntry(a: OrderRecordDto, b: OrderRecordDto): boolean {
  return a.order_no === b.order_no && a.epoch === b.epoch && a.request_id === b.request_id;
}

export function toInfo(r: OrderRecordDto): OrderInfo {
  return { order_no: r.order_no, stock_name: r.stock_name, trade_type: r.trade_type, quantity: r.quantity };
}

function toRecord(o: Order): OrderRecordDto {
  return {
    order_no: o.orderNo,
    epoch: o.epoch,
    request_id: o.requestId,
    stock_name: o.stockName,
    trade_type: o.tradeType,
    quantity: o.quantity,
  };
}

function toEntity(r: OrderRecordDto): Order {
  return Object.assign(new Order(), {
    orderNo: r.order_no,
    epoch: r.epoch,
    requestId: r.request_id,
    stockName: r.stock_name,
    tradeType: r.trade_type,
    quantity: r.quantity,
  });
}
