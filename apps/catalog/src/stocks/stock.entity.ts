import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('stocks')
export class Stock {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name: string;

  @Column('real')
  price: number;

  @Column({ type: 'integer', name: 'trade_volume' })
  tradeVolume: number;

  @Column('integer')
  quantity: number;
}
