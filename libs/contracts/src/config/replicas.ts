import { Transform } from 'class-transformer';
import { registerDecorator, ValidationOptions } from 'class-validator';

/** One order replica: its id and base URL. */
export interface ReplicaAddress {
  id: number;
  url: string;
}

/**
 * The port replica `id` listens on: `ORDER_PORT` when set, else the port of its own entry in
 * `ORDER_REPLICAS` — the scheme's default for a URL without one (`http://order-1` is port 80),
 * never 0, which would make the server pick a random port.
 */
export function replicaPort(config: { ORDER_ID: number; ORDER_PORT?: number; ORDER_REPLICAS: ReplicaAddress[] }): number {
  if (config.ORDER_PORT !== undefined) return config.ORDER_PORT;
  const own = new URL(config.ORDER_REPLICAS.find((r) => r.id === config.ORDER_ID)?.url ?? 'http://x:20001');
  return Number(own.port || (own.protocol === 'https:' ? 443 : 80));
}

export const DEFAULT_ORDER_REPLICAS = '1=http://127.0.0.1:20001,2=http://127.0.0.1:20002,3=http://127.0.0.1:20003';

/**
 * Parses `ORDER_REPLICAS` (`1=http://127.0.0.1:20001,2=…`). Returns `null` for anything malformed
 * so that {@link IsReplicaList} reports it with the variable's name.
 */
export function parseReplicaList(value: string): ReplicaAddress[] | null {
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  const replicas: ReplicaAddress[] = [];
  for (const entry of entries) {
    const m = /^(\d{1,6})=(https?:\/\/[^\s,]+?)\/?$/.exec(entry);
    if (!m) return null;
    const id = Number(m[1]);
    try {
      new URL(m[2]);
    } catch {
      return null;
    }
    if (id < 1 || replicas.some((r) => r.id === id)) return null;
    replicas.push({ id, url: m[2] });
  }
  return replicas.length > 0 ? replicas.sort((a, b) => a.id - b.id) : null;
}

export function ReplicaListTransform(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? (parseReplicaList(value) ?? value) : value,
  );
}

export function IsReplicaList(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isReplicaList',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: 'must be a comma-separated list of distinct id=http://host:port entries',
        ...options,
      },
      validator: {
        validate: (value: unknown) => Array.isArray(value) && value.length > 0,
      },
    });
}

/** The replica's own id must be one of the ids in ORDER_REPLICAS (validated on the same object). */
export function IsListedReplica(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isListedReplica',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: 'must be one of the ids listed in ORDER_REPLICAS', ...options },
      validator: {
        validate: (value: unknown, args) => {
          const replicas = (args?.object as { ORDER_REPLICAS?: unknown }).ORDER_REPLICAS;
          return !Array.isArray(replicas) || replicas.some((r: ReplicaAddress) => r.id === value);
        },
      },
    });
}
