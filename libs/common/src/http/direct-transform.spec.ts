import { jest } from '@jest/globals';
import { ValidationPipe } from '@nestjs/common';
import { ClassTransformOptions, Exclude, Expose, plainToInstance, Transform, TransformFnParams, Type } from 'class-transformer';
import { IsDate, IsInt, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import { PlaceOrderDto, ReplicaTradeBatchDto, SyncDto } from '@app/contracts';
import { contractClasses, copyJson, mutate, randomBag, seededRandom, VALID_BODIES } from '@app/testkit/dto-corpus';
import { DirectTransform } from './direct-transform';
import { createValidationPipe, validationPipeOptions } from './validation.pipe';
import { ValidityProof } from './validity-proof';

const proof = new ValidityProof({ forbidUnknownValues: true, whitelist: true, stopAtFirstError: true });
const direct = new DirectTransform(undefined, (cls) => proof.declaredProperties(cls));

/** Prototypes seen, numbered: two objects compare equal only if their prototypes are the same object. */
const protoIds = new Map<unknown, number>();
const protoId = (v: object): number => {
  const proto: unknown = Object.getPrototypeOf(v);
  if (!protoIds.has(proto)) protoIds.set(proto, protoIds.size);
  return protoIds.get(proto)!;
};

/**
 * Everything observable of a value: every object's prototype, its own keys (enumerable or not) in
 * order with their descriptors' flags, and every primitive with `Object.is` precision.
 */
function shape(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return Object.is(v, -0) ? '-0' : `${typeof v}:${String(v)}`;
  return [
    protoId(v),
    Array.isArray(v),
    Reflect.ownKeys(v).map((k) => {
      const d = Object.getOwnPropertyDescriptor(v, k)!;
      return [String(k), d.enumerable, d.writable, d.configurable, 'value' in d ? shape(d.value) : 'accessor'];
    }),
  ];
}

/** class-transformer's own result, or 'throws'. */
function reference(cls: Function, plain: unknown, options?: ClassTransformOptions): unknown {
  try {
    return shape(plainToInstance(cls as new () => object, copyJson(plain), options));
  } catch {
    return 'throws';
  }
}

/** The corpus tests run thousands of bodies through class-transformer: seconds, not milliseconds. */
const CORPUS_TIMEOUT_MS = 120_000;

describe('DirectTransform', () => {
  it('is on for the validation pipe\'s transform options, off for any other', () => {
    const pipeOptions = (createValidationPipe() as unknown as { transformOptions: ClassTransformOptions | undefined }).transformOptions;
    expect(new DirectTransform(pipeOptions, () => undefined).enabled).toBe(true);
    for (const options of [{ excludeExtraneousValues: true }, { groups: ['a'] }, { enableImplicitConversion: true }, { exposeUnsetFields: false }, { version: 1 }]) {
      const off = new DirectTransform(options, (cls) => proof.declaredProperties(cls));
      expect(off.enabled).toBe(false);
      expect(off.instance(PlaceOrderDto, { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 })).toBeUndefined();
    }
  });

  it('builds the hot routes\' valid bodies exactly as class-transformer does, without changing them', () => {
    for (const [cls, plain] of VALID_BODIES) {
      const before = JSON.stringify(plain);
      const built = direct.instance(cls, plain);
      expect(built).toBeDefined();
      expect(shape(built)).toEqual(reference(cls, plain));
      expect(JSON.stringify(plain)).toBe(before);
    }
    // DigitsToInt ran: a quantity sent as digits is a number.
    expect((direct.instance(PlaceOrderDto, { stock_name: 'Stock1', trade_type: 'buy', quantity: '12' }) as PlaceOrderDto).quantity).toBe(12);
  });

  it('builds what class-transformer builds, or nothing: 3,000 mutated bodies of the hot routes and random bodies for every DTO of the contracts', () => {
    const random = seededRandom(20261204);
    const bodies: [Function, object][] = [];
    for (let i = 0; i < 3000; i++) {
      const [cls, sample] = VALID_BODIES[i % VALID_BODIES.length];
      bodies.push([cls, mutate(sample, random)]);
    }
    const classes = contractClasses();
    expect(classes.length).toBeGreaterThanOrEqual(15);
    for (const cls of classes) for (let i = 0; i < 300; i++) bodies.push([cls, randomBag(cls, random)]);
    let built = 0;
    let declined = 0;
    for (const [cls, plain] of bodies) {
      const input = copyJson(plain);
      const before = shape(input);
      const instance = direct.instance(cls, input);
      expect(shape(input)).toEqual(before);
      if (instance === undefined) {
        declined++;
        continue;
      }
      built++;
      const expected = reference(cls, plain);
      if (JSON.stringify(shape(instance)) !== JSON.stringify(expected)) throw new Error(`built ${cls.name} ${JSON.stringify(plain)} unlike class-transformer`);
    }
    // Both answers occur: plain values of every kind are built, structures it does not model are not.
    expect(built).toBeGreaterThan(3000);
    expect(declined).toBeGreaterThan(300);
  }, CORPUS_TIMEOUT_MS);

  it('builds nothing it does not model: prototype keys, unknown keys, holes, arrays of arrays, non-plain objects, untyped objects, built-in types', () => {
    const order = { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 };
    expect(direct.instance(PlaceOrderDto, order)).toBeDefined();
    expect(direct.instance(PlaceOrderDto, JSON.parse('{"stock_name":"Stock1","trade_type":"buy","quantity":1,"__proto__":{"x":1}}'))).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, { ...order, constructor: 1 })).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, { ...order, prototype: 1 })).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, { ...order, extra: 1 })).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, { ...order, quantity: new Date(0) })).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, Object.assign(Object.create({ inherited: 1 }), order))).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, [order])).toBeUndefined();
    expect(direct.instance(PlaceOrderDto, 'Stock1')).toBeUndefined();
    const trade = { stock_name: 'Stock1', trade_type: 'buy', quantity: 1, request_id: 'k-1' };
    expect(direct.instance(ReplicaTradeBatchDto, { epoch: 1, trades: [trade] })).toBeDefined();
    // eslint-disable-next-line no-sparse-arrays
    expect(direct.instance(ReplicaTradeBatchDto, { epoch: 1, trades: [trade, , trade] })).toBeUndefined();
    expect(direct.instance(ReplicaTradeBatchDto, { epoch: 1, trades: [[trade]] })).toBeUndefined();
    expect(direct.instance(ReplicaTradeBatchDto, { epoch: 1, trades: [Object.assign(new PlaceOrderDto(), trade)] })).toBeUndefined();
    expect(direct.instance(SyncDto, { leader: 1, epoch: 1, commit_no: 0, reconciled_seq: 0, orders: [], prev: new Map() })).toBeUndefined();

    class Untyped {
      @IsObject() meta: object;
    }
    expect(direct.instance(Untyped, { meta: {} })).toBeUndefined();
    class Dated {
      @Type(() => Date) @IsDate() at: Date;
    }
    expect(direct.instance(Dated, { at: 0 })).toBeUndefined();
    class Renamed {
      @Expose({ name: 'n' }) @IsString() name: string;
    }
    expect(direct.instance(Renamed, { name: 'x' })).toBeUndefined();
    class Hidden {
      @Exclude() @IsString() secret: string;
      @IsString() name: string;
    }
    expect(direct.instance(Hidden, { name: 'x' })).toBeUndefined();
    class Inner {
      @IsInt() n: number;
    }
    class Tagged {
      @ValidateNested() @Type(() => Inner, { discriminator: { property: 'kind', subTypes: [{ name: 'inner', value: Inner }] } }) item: Inner;
    }
    expect(direct.instance(Tagged, { item: { n: 1 } })).toBeUndefined();
    class WithAccessor {
      @IsString() name: string;
      @IsOptional() @IsString() get upper(): string {
        return this.name.toUpperCase();
      }
    }
    expect(direct.instance(WithAccessor, { name: 'x' })).toBeUndefined();
    class WithMethod {
      @IsOptional() @IsString() name?: string;
      // class-transformer leaves a property that holds a function on the new instance alone.
      @IsOptional() format: unknown = () => 'formatted';
    }
    expect(direct.instance(WithMethod, { name: 'x' })).toBeDefined();
    expect(direct.instance(WithMethod, { name: 'x', format: 'y' })).toBeUndefined();
  });

  it('calls @Type and @Transform functions with the arguments class-transformer gives them', () => {
    const seen: { via: string; params: unknown[] }[] = [];
    let via = '';
    class Leaf {
      @IsInt() n: number;
    }
    class Root {
      @Transform((params: TransformFnParams) => {
        seen.push({ via, params: [params.value, params.key, params.obj, params.type, JSON.stringify(params.options)] });
        return typeof params.value === 'string' ? params.value.trim() : params.value;
      })
      @IsString()
      name: string;

      @ValidateNested({ each: true })
      @Type((help) => {
        seen.push({ via, params: [help?.newObject.constructor, help?.object, help?.property] });
        return Leaf;
      })
      leaves: Leaf[];
    }
    const plain = { name: ' x ', leaves: [{ n: 1 }, { n: 2 }] };
    via = 'class-transformer';
    const expected = plainToInstance(Root, plain);
    via = 'direct';
    const built = direct.instance(Root, plain);
    expect(shape(built)).toEqual(shape(expected));
    const calls = (v: string) => seen.filter((s) => s.via === v).map((s) => s.params);
    expect(calls('direct')).toEqual(calls('class-transformer'));
    expect(calls('direct')).toHaveLength(2);
  });

  describe('in the validation pipe', () => {
    afterEach(() => jest.restoreAllMocks());

    it('answers a valid hot body without class-transformer, and any other body through Nest\'s pipe, with the same results as Nest\'s plain pipe', async () => {
      const pipe = createValidationPipe();
      const plainPipe = new ValidationPipe(validationPipeOptions());
      const random = seededRandom(4);
      let builtDirectly = 0;
      let through = 0;
      for (let i = 0; i < 700; i++) {
        const [cls, sample] = VALID_BODIES[i % VALID_BODIES.length];
        const plain = i < VALID_BODIES.length ? sample : mutate(sample, random);
        const metadata = { type: 'body' as const, metatype: cls as new () => object, data: undefined };
        const outcome = (p: ValidationPipe) =>
          p.transform(copyJson(plain), metadata).then(
            (dto: unknown) => ({ dto: shape(dto) }),
            (err: Error) => ({ error: `${err.constructor.name}: ${JSON.stringify((err as { getResponse?: () => unknown }).getResponse?.() ?? err.message)}` }),
          );
        const expected = await outcome(plainPipe);
        const nest = jest.spyOn(ValidationPipe.prototype, 'transform');
        expect(await outcome(pipe)).toEqual(expected);
        if (nest.mock.calls.length === 0) builtDirectly++;
        else through++;
        if (i < VALID_BODIES.length) expect(nest).not.toHaveBeenCalled();
        if ('error' in expected) expect(nest).toHaveBeenCalled();
        nest.mockRestore();
      }
      expect(builtDirectly).toBeGreaterThan(50);
      expect(through).toBeGreaterThan(300);
    }, CORPUS_TIMEOUT_MS);
  });
});
