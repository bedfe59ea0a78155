import { ValidationPipe } from '@nestjs/common';
import { plainToInstance, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Min, Validate, ValidateNested, ValidatorConstraint, ValidatorConstraintInterface, validate } from 'class-validator';
import { PlaceOrderDto, SyncDto } from '@app/contracts';
import { contractClasses, copyJson, mutate, orderEntry, randomBag, seededRandom, VALID_BODIES } from '@app/testkit/dto-corpus';
import { createValidationPipe, validationPipeOptions } from './validation.pipe';
import { ValidityProof } from './validity-proof';

/** The validator options of the one validation pipe, as Nest hands them to class-validator. */
const OPTIONS = { forbidUnknownValues: true, whitelist: true, stopAtFirstError: true };

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
    for (const [cls, plain] of VALID_BODIES) {
      expect(await classValidatorVerdict(cls, plain)).toEqual({ errors: 0, stripped: false });
      expect(proof.proves(plainToInstance(cls as new () => object, plain))).toBe(true);
    }
  });

  it('never proves what class-validator would refuse or strip: 3,000 mutated bodies of the hot routes', async () => {
    const random = seededRandom(20261203);
    let proven = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const [cls, sample] = VALID_BODIES[i % VALID_BODIES.length];
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
    const random = seededRandom(7);
    for (const cls of classes) {
      for (let i = 0; i < 300; i++) {
        const plain = randomBag(cls, random);
        const entity = instance(cls, plain);
        if (!entity || !proof.proves(entity)) continue;
        const verdict = await classValidatorVerdict(cls, plain);
        if (verdict.errors > 0 || verdict.stripped) throw new Error(`proved ${cls.name} ${JSON.stringify(plain)}, class-validator: ${JSON.stringify(verdict)}`);
      }
    }
  }, CORPUS_TIMEOUT_MS);

  it('does not prove an unknown property, a plain object where a class is nested, an array hole, or an object of no class', () => {
    const sync = VALID_BODIES.find(([cls]) => cls === SyncDto)![1] as Record<string, unknown>;
    expect(proof.proves(plainToInstance(SyncDto, { ...sync, extra: 1 }))).toBe(false);
    const entity = plainToInstance(SyncDto, sync);
    expect(proof.proves(entity)).toBe(true);
    expect(proof.proves({ ...entity, orders: [{ ...orderEntry(11) }] })).toBe(false);
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
    const random = seededRandom(99);
    for (let i = 0; i < 700; i++) {
      const [cls, sample] = VALID_BODIES[i % VALID_BODIES.length];
      const plain = i < VALID_BODIES.length ? sample : mutate(sample, random);
      const metadata = { type: 'body' as const, metatype: cls as new () => object, data: '' };
      const outcome = (p: ValidationPipe) =>
        p.transform(copyJson(plain), metadata).then(
          (dto: unknown) => ({ dto: JSON.stringify(dto), cls: (dto as object).constructor }),
          (err: Error) => ({ error: `${err.constructor.name}: ${JSON.stringify((err as { getResponse?: () => unknown }).getResponse?.() ?? err.message)}` }),
        );
      expect(await outcome(withProof)).toEqual(await outcome(without));
    }
  }, CORPUS_TIMEOUT_MS);
});
