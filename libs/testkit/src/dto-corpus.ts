// Not exported from the testkit's index: it loads the contracts' DTOs (and with them NestJS), which the e2e suites never do.
import { getMetadataStorage } from 'class-validator';
import * as contracts from '@app/contracts';
import { CatalogTradeBatchDto, InvalidateBatchDto, PlaceOrderDto, ReplicaTradeBatchDto, SyncDto } from '@app/contracts';
import { mulberry32, Random } from '@app/loadgen/load/prng';

/**
 * Bodies for the specs that check a shortcut of the validation pipe (`ValidityProof`,
 * `DirectTransform`) against class-transformer and class-validator themselves: the hot routes'
 * valid bodies, seeded mutations of them, and random property bags for every DTO of the contracts.
 */

export { mulberry32 as seededRandom };

/** A sync's order entry `n`. */
export const orderEntry = (n: number, extra: object = {}) => ({
  order_no: n,
  epoch: 3,
  request_id: `req-${n}`,
  stock_name: 'Stock1',
  trade_type: n % 2 ? 'buy' : 'Sell',
  quantity: 5,
  ...extra,
});

/** Valid bodies of the hot routes, each with its DTO class. */
export const VALID_BODIES: [Function, object][] = [
  [PlaceOrderDto, { stock_name: 'Stock1', trade_type: 'buy', quantity: 5 }],
  [PlaceOrderDto, { stock_name: 'Stock2', trade_type: 'sell', quantity: '12' }],
  [ReplicaTradeBatchDto, { epoch: 4, trades: [{ stock_name: 'Stock1', trade_type: 'BUY', quantity: 1, request_id: 'k-1' }] }],
  [ReplicaTradeBatchDto, { epoch: 0, trades: [1, 2, 3].map((i) => ({ stock_name: `Stock${i}`, trade_type: 'sell', quantity: i, request_id: `k-${i}` })) }],
  [CatalogTradeBatchDto, { trades: [{ stock_name: 'Stock1', type: 'buy', quantity: 2, request_id: 'r-1' }, { stock_name: 'Stock2', type: 'sell', quantity: 1 }] }],
  [SyncDto, { leader: 3, epoch: 3, commit_no: 10, reconciled_seq: 0, prev: { order_no: 10, epoch: 3 }, orders: [orderEntry(11), orderEntry(12, { idempotency_key: 'key-12', created_at: 1_700_000_000_000 })] }],
  [SyncDto, { leader: 3, epoch: 3, commit_no: 0, reconciled_seq: 7, orders: [] }],
  [InvalidateBatchDto, { stock_names: ['Stock1', 'Stock2'] }],
  [InvalidateBatchDto, { stock_names: ['Stock1', 'Stock2'], trade_volumes: [12, 0] }],
  [InvalidateBatchDto, { stock_names: ['Stock3'], trade_volumes: [7], frontend: 'http://127.0.0.1:30001', instance: '6f1d2c3b-8e0a-4b7e-9c55-2d1f0e4a7b19' }],
];

/** Values a mutation puts somewhere: wrong types, edge numbers, bad strings, structures. */
export const ODD_VALUES: unknown[] = [
  null, undefined, '', 'x', '12', '-3', ' buy', 'BUY', 'Stock 1', 'a'.repeat(129), 1.5, -1, 0, 1, 1_000_001, 2 ** 53, true, false,
  [], [1], ['Stock1'], {}, { order_no: 1, epoch: 0 }, [{}], [null], 'req-11', 12, [[1]], [['Stock1']],
];

/**
 * A deep copy of a JSON-like value made of this realm's objects and arrays (under Jest, `structuredClone`
 * makes the host realm's, whose prototypes are not the test's `Object.prototype`). An own `__proto__`
 * key (as `JSON.parse` makes one) stays an own key.
 */
export function copyJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyJson(item)) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, { value: copyJson((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
  }
  return copy as T;
}

/** Every (container, key) of a JSON-like value. */
function slots(value: unknown, out: [Record<string | number, unknown>, string | number][] = []): [Record<string | number, unknown>, string | number][] {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      out.push([value as Record<string, unknown>, Array.isArray(value) ? Number(key) : key]);
      slots((value as Record<string, unknown>)[key], out);
    }
  }
  return out;
}

/** A copy of `sample` with one to three random changes: a value replaced, a key removed or added, an array grown past its limits. */
export function mutate(sample: object, random: Random): object {
  const copy = copyJson(sample) as Record<string, unknown>;
  const changes = 1 + Math.floor(random() * 3);
  for (let c = 0; c < changes; c++) {
    const all = slots(copy);
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
    const roll = random();
    if (roll < 0.6 && all.length > 0) {
      const [container, key] = pick(all);
      container[key] = copyJson(pick(ODD_VALUES));
    } else if (roll < 0.75 && all.length > 0) {
      const [container, key] = pick(all);
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete container[key];
    } else if (roll < 0.9) {
      const objects = [copy, ...all.map(([container, key]) => container[key]).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v))];
      (pick(objects) as Record<string, unknown>)[pick(['extra', 'order_no', 'epoch', 'prev', 'constructor', 'quantity', '__proto__', 'toString'])] = copyJson(pick(ODD_VALUES));
    } else {
      const arrays = all.map(([container, key]) => container[key]).filter(Array.isArray) as unknown[][];
      if (arrays.length > 0) {
        const a = pick(arrays);
        if (a.length > 0) a.push(...Array.from({ length: pick([1, 130, 1001]) }, () => copyJson(a[0])));
      }
    }
  }
  return copy;
}

/** Every class the contracts export that carries class-validator constraints. */
export function contractClasses(): Function[] {
  return (Object.values(contracts) as unknown[]).filter((v): v is Function => typeof v === 'function' && declaredNames(v).length > 0);
}

/** The properties class-validator declares for `cls`. */
export function declaredNames(cls: Function): string[] {
  const storage = getMetadataStorage();
  return Object.keys(storage.groupByPropertyName(storage.getTargetValidationMetadatas(cls, undefined as unknown as string, false, false)));
}

/** A bag of `cls`'s declared properties (each present with probability 0.9) holding odd values. */
export function randomBag(cls: Function, random: Random): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const name of declaredNames(cls)) if (random() < 0.9) plain[name] = copyJson(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
  return plain;
}
