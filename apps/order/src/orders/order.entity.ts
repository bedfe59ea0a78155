import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One entry of the replicated order log. Numbers are assigned by the leader: 1, 2, 3 … with no gaps. */
@Entity('orders')
export class Order {
  @PrimaryColumn({ type: 'integer', name: 'order_no' })
  orderNo: number;

  /** Epoch of the leader that wrote the entry; logs are compared by (epoch of last entry, last number). */
  @Column('integer')
  epoch: number;

  /** Idempotency key of the trade (the catalog's request id); unique across the log. */
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
}
