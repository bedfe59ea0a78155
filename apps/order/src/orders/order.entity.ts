import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One entry of the replicated order log. Numbers are assigned by the leader: 1, 2, 3 … with no gaps. */
@Entity('orders')
export class Order {
  @PrimaryColumn({ type: 'integer', name: 'order_no' })
  orderNo: number;

  /**
   * Epoch of the leader that wrote the entry, or that inherited it above the commit point when it
   * took over (LeadershipService.adoptInherited); logs are compared by (epoch of last entry, last number).
   */
  @Column('integer')
  epoch: number;

  /** The trade's request id at the catalog, unique across the log: the client's idempotency key, or one derived from it (see idempotencyKey). */
  @Index({ unique: true })
  @Column({ type: 'varchar', length: 128, name: 'request_id' })
  requestId: string;

  @Column({ type: 'varchar', length: 64, name: 'stock_name' })
  stockName: string;

  /** As the client spelled it. */
  @Column({ type: 'varchar', length: 8, name: 'trade_type' })
  tradeType: string;

  @Column('integer')
  quantity: number;

  /** The client's Idempotency-Key: the request id, or the key a derived request id was made from (a key reused after its window). */
  @Index()
  @Column({ type: 'varchar', length: 128, name: 'idempotency_key', nullable: true })
  idempotencyKey: string | null;

  /** When the leader appended the entry (ms epoch); the key's retention window starts here. */
  @Column({ type: 'integer', name: 'created_at', default: 0 })
  createdAt: number;

  /** The leader's checksum of the entry (see orderChecksum); null on entries written before checksums. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  checksum: string | null;
}
