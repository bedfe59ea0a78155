import { bootstrapServer } from '@app/common';
import { OrderEnv } from '@app/contracts';

void bootstrapServer({
  name: `order-${process.env.ORDER_ID ?? 1}`,
  description: 'One replica of the order log: trades (leader), replication, recovery',
  env: OrderEnv,
  loadModule: async () => (await import('./order.module')).OrderModule,
  port: (config) => {
    const id = config.get('ORDER_ID', { infer: true });
    const own = config.get('ORDER_REPLICAS', { infer: true }).find((r) => r.id === id);
    return config.get('ORDER_PORT', { infer: true }) ?? Number(new URL(own?.url ?? 'http://x:20001').port);
  },
});
