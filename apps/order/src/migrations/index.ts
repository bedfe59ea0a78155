import { CreateOrderLog1732500000001 } from './1732500000001-CreateOrderLog';

/** Every order-log migration, in order. */
export const ORDER_MIGRATIONS = [CreateOrderLog1732500000001];
