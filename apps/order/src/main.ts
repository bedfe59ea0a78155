import { bootstrapServer } from '@app/common';
import { OrderEnv, replicaPort } from '@app/contracts';

void bootstrapServer({
  name: `order-${process.env.ORDER_ID ?? 1}`,
  description: 'One replica of the order log: trades (leader), replication, recovery',
  env: OrderEnv,
  loadModule: async () => (await import('./order.module')).OrderModule,
  port: (config) =>
    replicaPort({
      ORDER_ID: config.get('ORDER_ID', { infer: true }),
      ORDER_PORT: config.get('ORDER_PORT', { infer: true }),
      ORDER_REPLICAS: config.get('ORDER_REPLICAS', { infer: true }),
    }),
});
