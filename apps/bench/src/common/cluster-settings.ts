import type { ClusterOptions } from '@app/testkit';

/**
 * The cluster `npm run bench` and `npm run bench:failover` measure: the apps' own settings,
 * logging warnings only so that logging does not weigh on the figures.
 */
export const BENCH_CLUSTER = { settings: 'production', env: { LOG_LEVEL: 'warn' } } satisfies ClusterOptions;

/**
 * The clusters of `npm run eval`: the test settings, whose fast failure detection the failure run
 * measures recovery with, logging warnings only.
 */
export const EVAL_CLUSTER = { settings: 'test', env: { LOG_LEVEL: 'warn' } } satisfies ClusterOptions;
