import type { SchemaObject } from '@nestjs/swagger';
import { REPLICA_ROLES } from '@app/contracts';

const int = (description?: string): SchemaObject => ({ type: 'integer', ...(description ? { description } : {}) });
const nullableInt = (description: string): SchemaObject => ({ type: 'integer', nullable: true, description });

/** OpenAPI schema of `ClusterStatusResponse` (libs/contracts), for Swagger. */
export const CLUSTER_STATUS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['time', 'frontend', 'catalog', 'leader', 'replicas', 'cache', 'leader_changes'],
  properties: {
    time: { type: 'string', format: 'date-time', description: 'When the view was assembled' },
    frontend: {
      type: 'object',
      required: ['pid', 'uptime_s'],
      properties: { pid: int('Process id of this front end'), uptime_s: int('Seconds since it started') },
    },
    catalog: {
      type: 'object',
      required: ['address', 'state'],
      properties: {
        address: { type: 'string', example: 'http://127.0.0.1:10001' },
        state: { type: 'string', enum: ['up', 'down'], description: "Whether the catalog's /health answers" },
      },
    },
    leader: {
      type: 'object',
      nullable: true,
      description: 'The elected leader; null when no replica is ready',
      required: ['id', 'epoch', 'address'],
      properties: { id: int(), epoch: int(), address: { type: 'string', example: 'http://127.0.0.1:20003' } },
    },
    replicas: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'address', 'state', 'role', 'epoch', 'last_no', 'commit_no', 'lag'],
        properties: {
          id: int(),
          address: { type: 'string' },
          state: {
            type: 'string',
            enum: ['leader', 'ready', 'recovering', 'down'],
            description: 'leader: the elected one; recovering: answers, not ready; down: no answer, or it rejects this front end',
          },
          role: { type: 'string', enum: [...REPLICA_ROLES], nullable: true, description: "The replica's own role; null when unknown" },
          epoch: nullableInt('Highest epoch the replica has seen'),
          last_no: nullableInt('Its last order number'),
          commit_no: nullableInt('Its commit point'),
          lag: nullableInt("Orders behind the leader's last order; null when either is unknown"),
          detail: { type: 'string', description: 'Why it is down or not ready, when known (e.g. a wrong cluster token)' },
        },
      },
    },
    cache: {
      type: 'object',
      required: ['enabled', 'capacity', 'size', 'hits', 'misses', 'evictions', 'invalidations', 'stale_fills_dropped', 'offers_taken', 'hit_ratio'],
      properties: {
        enabled: { type: 'boolean' },
        capacity: int(),
        size: int(),
        hits: int(),
        misses: int(),
        evictions: int(),
        invalidations: int(),
        stale_fills_dropped: int(),
        offers_taken: int(),
        hit_ratio: { type: 'number', nullable: true, description: 'hits / (hits + misses); null before the first lookup' },
      },
    },
    leader_changes: {
      type: 'array',
      description: 'Most recent first, at most 20',
      items: {
        type: 'object',
        required: ['at', 'leader', 'epoch', 'reason'],
        properties: {
          at: { type: 'string', format: 'date-time' },
          leader: nullableInt('The new leader; null when none was left'),
          epoch: nullableInt('Its epoch'),
          reason: { type: 'string', example: 'leader 3 stopped answering' },
        },
      },
    },
  },
};
