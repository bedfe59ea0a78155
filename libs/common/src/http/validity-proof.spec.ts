import { ValidationPipe } from '@nestjs/common';
import { plainToInstance, Type } from 'class-transformer';
import { getMetadataStorage, IsInt, IsOptional, IsString, Min, Validate, ValidateNested, ValidatorConstraint, ValidatorConstraintInterface, validate } from 'class-validator';
import * as contracts from '@app/contracts';
import { CatalogTradeBatchDto, InvalidateBatchDto, PlaceOrderDto, ReplicaTradeBatchDto, SyncDto } from '@app/contracts';
import { createValidationPipe, validationPipeOptions } from './validation.pipe';
import { ValidityProof } from './validity-proof';

/** The validator options of the one validation pipe, as Nest hands them to class-validator. */
const OPTIONS = { forbidUnknownValues: true, whitelist: true, stopAtFirstError: true };

const order = (n: number, extra: object = {}) => ({
  order_no: n,
  epoch: 3,
  request_id: `req-${n}`,
  stock_name: 'Stock1',
  trade_type: n % 2 ? 'buy' : 'Sell',
  quantity: 5,
  ...extra,
});

/** Valid bodies of the hot routes, each as its DTO class. */
const VALID: [Function, object][] = [
  [PlaceOrderDto, { stock_name: 'Stock1', trade_type: 'buy', quantity: 5 }],
  [ReplicaTradeBatchDto, { epoch: 4, trades: [{ stock_name: 'Stock1', trade_type: 'BUY', quantity: 1, request_id: 'k-1' }] }],
  [ReplicaTradeBatchDto, { epoch: 0, trades: [1, 2, 3].map((i) => ({ stock_name: `Stock${i}`, trade_type: 'sell', quantity: i, request_id: `k-${i}` })) }],
  [CatalogTradeBatchDto, { trades: [{ stock_name: 'Stock1', type: 'buy', quantity: 2, request_id: 'r-1' }, { stock_name: 'Stock2', type: 'sell', quantity: 1 }] }],
  [SyncDto, { leader: 3, epoch: 3, commit_no: 10, reconciled_seq: 0, prev: { order_no: 10, epoch: 3 }, orders: [order(11), order(12, { idempotency_key: 'key-12', created_at: 1_700_000_000_000 })] }],
  [SyncDto, { leader: 3, epoch: 3, commit_no: 0, reconciled_seq: 7, orders: [] }],
  [InvalidateBatchDto, { stock_names: ['Stock1', 'Stock2'] }],
];

/** Values a mutation puts somewhere: wrong types, edge numbers, bad strings, structures. */
const ODD_VALUES: unknown[] = [
  null, undefined, '', 'x', '12', '-3', ' buy', 'BUY', 'Stock 1', 'a'.repeat(129), 1.5, -1, 0, 1, 1_000_001, 2 ** 53, true, false,
  [], [1], ['Stock1'], {}, { order_no: 1, epoch: 0 }, [{}], [null], 'req-11', 12,
];

/** A seeded PRNG (mulberry32), so that a failure is reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every (container, key) of a JSON-like value, the value itself first. */
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
function mutate(sample: object, random: () => number): object {
  const copy = structuredClone(sample) as Record<string, unknown>;
  const changes = 1 + Math.floor(random() * 3);
  for (let c = 0; c < changes; c++) {
    const all = slots(copy);
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
    const roll = random();
    if (roll < 0.6 && all.length > 0) {
      const [container, key] = pick(all);
      container[key] = structuredClone(pick(ODD_VALUES));
    } else if (roll < 0.75 && all.length > 0) {
      const [container, key] = pick(all);
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete container[key];
    } else if (roll < 0.9) {
      const objects = [copy, ...all.map(([container, key]) => container[key]).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v))];
      (pick(objects) as Record<string, unknown>)[pick(['extra', 'order_no', 'epoch', 'prev', 'constructor', 'quantity'])] = structuredClone(pick(ODD_VALUES));
    } else {
      const arrays = all.map(([container, key]) => container[key]).filter(Array.isArray) as unknown[][];
      if (arrays.length > 0) {
        const a = pick(arrays);
        if (a.length > 0) a.push(...Array.from({ length: pick([1, 130, 1001]) }, () => structuredClone(a[0])));
      }
    }
  }
  return copy;
}

/** Every class the contracts export that carries class-validator constraints. */
function contractClasses(): Function[] {
  const storage = getMetadataStorage();
  return (Object.values(contracts) as unknown[]).filter(
    (v): v is Function => typeof v === 'function' && storage.getTargetValidationMetadatas(v, undefined as unknown as string, false, false).length > 0,
  );
}

/** `plain` as an instance of `cls`, or undefined where class-transformer itself throws (the pipe answers that with an error, as before). */
function instance(cls: Function, plain: unknown): object | undefined {
  try {
    return plainToInstance(cls as new () => object, plain) as object;
  } catch {
    return undefined;
  }
}

/** What class-validator says of `plain` as `cls` (it strips unknown properties in place, so it gets its own instance); a throw counts as a refusal. */
async function classValidatorVerdict(cls: Function, plain: unknown): Promise<{ errors: number; stripped: boolean }> {
  const entity = instance(cls, plain)!;
  const before = JSON.stringify(entity);
  const errors = await validate(entity, OPTIONS).catch(() => [undefined]);
  return { errors: errors.length, stripped: JSON.stringify(entity) !== before };
}

/** The corpus tests run thousands of bodies through class-transformer and class-validator: seconds, not milliseconds. */
const CORPUS_TIMEOUT_MS = 120_000;

describe('ValidityProof', () => {
  const proof = new ValidityProof(OPTIONS);

  it('holds for the validation pipe\'s own options', () => {
    const pipeOptions = (createValidationPipe() as unknown as { validatorOptions: object }).validatorOptions;
    expect(pipeOptions).toEqual(OPTIONS);
    expect(new ValidityProof(pipeOptions).enabled).toBe(true);
  });

  it('proves the hot routes\' valid bodies, as class-validator finds them valid', async () => {
    for (const [cls, plain] of VALID) {
      expect(await classValidatorVerdict(cls, plain)).toEqual({ errors: 0, stripped: false });
      expect(proof.proves(plainToInstance(cls as new () => object, plain))).toBe(true);
    }
  });

  it('never proves what class-validator would refuse or strip: 3,000 mutated bodies of the hot routes', async () => {
    const random = prng(20261203);
    let proven = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const [cls, sample] = VALID[i % VALID.length];
      const plain = mutate(sample, random);
      const entity = instance(cls, plain);
      if (!entity || !proof.proves(entity)) {
        refused++;
        continue;
      }
      proven++;
      const verdict = await classValidatorVerdict(cls, plain);
      if (verdict.errors > 0 || verdict.stripped) throw new Error(`proved ${cls.name} ${JSON.stringify(plain)}, class-validator: ${JSON.stringify(verdict)}`);
    }
    // Both answers occur: the mutations make valid bodies as well as invalid ones.
    expect(proven).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(500);
  }, CORPUS_TIMEOUT_MS);

  it('never proves what class-validator would refuse or strip: random bodies for every DTO of the contracts', async () => {
    const classes = contractClasses();
    expect(classes.length).toBeGreaterThanOrEqual(15);
    const random = prng(7);
    const storage = getMetadataStorage();
    for (const cls of classes) {
      const names = Object.keys(storage.groupByPropertyName(storage.getTargetValidationMetadatas(cls, undefined as unknown as string, false, false)));
      for (let i = 0; i < 300; i++) {
        const plain: Record<string, unknown> = {};
        for (const name of names) if (random() < 0.9) plain[name] = structuredClone(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
        const entity = instance(cls, plain);
        if (!entity || !proof.proves(entity)) continue;
        const verdict = await classValidatorVerdict(cls, plain);
        if (verdict.errors > 0 || verdict.stripped) throw new Error(`proved ${cls.name} ${JSON.stringify(plain)}, class-validator: ${JSON.stringify(verdict)}`);
      }
    }
  }, CORPUS_TIMEOUT_MS);

  it('does not prove an unknown property, a plain object where a class is nested, an array hole, or an object of no class', () => {
    const sync = VALID.find(([cls]) => cls === SyncDto)![1] as Record<string, unknown>;
    expect(proof.proves(plainToInstance(SyncDto, { ...sync, extra: 1 }))).toBe(false);
    const entity = plainToInstance(SyncDto, sync);
    expect(proof.proves(entity)).toBe(true);
    expect(proof.proves({ ...entity, orders: [{ ...order(11) }] })).toBe(false);
    expect(proof.proves(Object.assign(new SyncDto(), { ...entity, orders: [entity.orders[0], , entity.orders[1]] }))).toBe(false);
    expect(proof.proves({ a: 1 })).toBe(false);
    expect(proof.proves([entity])).toBe(false);
    expect(proof.proves(null)).toBe(false);
  });

  it('does not prove a class with an async constraint, or a Set where `each` applies, and is off for options it does not model', () => {
    @ValidatorConstraint({ async: true })
    class Remote implements ValidatorConstraintInterface {
      validate(): Promise<boolean> {
        return Promise.resolve(true);
      }
    }
    class WithAsync {
      @Validate(Remote) @IsString() name: string;
    }
    class Inner {
      @IsInt() @Min(0) n: number;
    }
    class WithSet {
      @IsOptional() @ValidateNested({ each: true }) @Type(() => Inner) items?: Inner[];
      @IsString({ each: true }) tags: string[] | Set<string>;
    }
    expect(proof.proves(Object.assign(new WithAsync(), { name: 'x' }))).toBe(false);
    expect(proof.proves(Object.assign(new WithSet(), { tags: ['a'] }))).toBe(true);
    expect(proof.proves(Object.assign(new WithSet(), { tags: new Set(['a']) }))).toBe(false);
    expect(proof.proves(Object.assign(new WithSet(), { tags: ['a'], items: new Set([Object.assign(new Inner(), { n: 1 })]) }))).toBe(false);
    expect(proof.proves(Object.assign(new WithSet(), { tags: ['a'], items: [Object.assign(new Inner(), { n: 1 })] }))).toBe(true);
    expect(proof.proves(Object.assign(new WithSet(), { tags: ['a'], items: [Object.assign(new Inner(), { n: -1 })] }))).toBe(false);
    const valid = plainToInstance(PlaceOrderDto, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 });
    expect(new ValidityProof({ ...OPTIONS, groups: ['a'] }).proves(valid)).toBe(false);
    expect(new ValidityProof({ ...OPTIONS, forbidNonWhitelisted: true }).proves(valid)).toBe(false);
    expect(new ValidityProof({ ...OPTIONS, whitelist: false }).proves(valid)).toBe(false);
    expect(new ValidityProof({ ...OPTIONS, skipMissingProperties: true }).proves(valid)).toBe(false);
  });

  it('leaves the validation pipe\'s answers as they were: the same DTO or the same 400 as Nest\'s pipe without the proof', async () => {
    const withProof = createValidationPipe();
    const without = new ValidationPipe(validationPipeOptions());
    const random = prng(99);
    for (let i = 0; i < 700; i++) {
      const [cls, sample] = VALID[i % VALID.length];
      const plain = i < VALID.length ? sample : mutate(sample, random);
      const metadata = { type: 'body' as const, metatype: cls as new () => object, data: '' };
      const outcome = (p: ValidationPipe) =>
        p.transform(structuredClone(plain), metadata).then(
          (dto: unknown) => ({ dto: JSON.stringify(dto), cls: (dto as object).constructor }),
          (err: Error) => ({ error: `${err.constructor.name}: ${JSON.stringify((err as { getResponse?: () => unknown }).getResponse?.() ?? err.message)}` }),
        );
      expect(await outcome(withProof)).toEqual(await outcome(without));
    }
  }, CORPUS_TIMEOUT_MS);
});
