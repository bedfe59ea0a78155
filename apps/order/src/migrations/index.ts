import { CreateOrderLog1732500000001 } from './1732500000001-CreateOrderLog';
import { OrderKeyRetention1760000000001 } from './1760000000001-OrderKeyRetention';
import { OrderChecksum1765000000001 } from './1765000000001-OrderChecksum';

/** Every order-log migration, in order. */
export const ORDER_MIGRATIONS = [CreateOrderLog1732500000001, OrderKeyRetention1760000000001, OrderChecksum1765000000001];
