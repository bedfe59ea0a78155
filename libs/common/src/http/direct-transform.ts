/// <reference path="./class-transformer-storage.d.ts" />
import { ClassTransformOptions, TransformationType } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { defaultOptions } from 'class-transformer/cjs/constants/default-options.constant';
import type { TransformMetadata, TypeMetadata } from 'class-transformer/types/interfaces';

/** What class-transformer does with one property of a class, plain → class. */
interface PropertyPlan {
  /** `@Type`, if any (never one with a discriminator, nor of a Map). */
  type: TypeMetadata | undefined;
  /** The `@Transform` functions class-transformer applies plain → class without groups, in its order. */
  transforms: TransformMetadata[];
}

/** Types class-transformer converts a value to (`String(v)`, `new Date(v)`…) instead of building an instance. */
const CONVERTED_TYPES: unknown[] = [String, Number, Boolean, Date, Buffer, Map, Set, Promise, Array, Object];

/** Keys Nest's pipe strips before class-transformer sees them (`stripProtoKeys`), which class-transformer skips too. */
const STRIPPED_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** Returned for a value whose instance is not built directly. */
const NOT_BUILT = Symbol('not built');

const isPlainObject = (v: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * Builds what class-transformer's `plainToInstance` builds for a parsed JSON body — the same
 * instances, properties, values and order — or answers "not built", and the caller runs the
 * validation pipe as usual.
 *
 * Why: after {@link ValidityProof}, the largest part of the validation pipe on an internal hop is
 * class-transformer's executor and the pipe's walks of the value around it (about 0.2 ms per
 * request on this VM, for a sync or a batch of trades), most of it generic work repeated per
 * property: metadata lookups through the class's ancestors, options merged, checks for Maps, Sets,
 * Dates, Buffers and promises.
 *
 * How it stays exact: it reads each class's `@Type` and `@Transform` metadata from
 * class-transformer's own storage, with the same lookups the executor makes, into a plan compiled
 * once per class; it creates instances with `new Class()` as the executor does, assigns the body's
 * keys in the body's order, calls each `@Type` function and each `@Transform` function with the
 * arguments the executor gives them (options included), and copies arrays as the executor does.
 * It builds only what it models exactly: a plain object of a class with properties declared to
 * class-validator (`declared`), holding strings, numbers, booleans, null, arrays of them, and plain
 * objects (or arrays of them) under a `@Type` of a class. Anything else is "not built": a key not
 * declared (whitelisting would strip it), `__proto__` / `prototype` / `constructor`, an array hole
 * or an array of arrays, a non-plain object, an object without a `@Type`, a `@Type` of a built-in
 * type or with a discriminator, `@Expose` / `@Exclude`, a prototype member at a declared key,
 * transform options other than class-transformer's defaults. A `@Transform` function must be a
 * pure function of its arguments: when a body is not built (or not proven valid), the pipe runs
 * class-transformer on the same body, which calls it again. `direct-transform.spec.ts` checks the
 * result against `plainToInstance` on every DTO of the contracts with valid and mutated bodies.
 */
export class DirectTransform {
  private readonly plans = new Map<Function, Map<string, PropertyPlan> | null>();
  readonly enabled: boolean;

  /**
   * `declared(cls)`: the properties class-validator's metadata declares for `cls` (the only keys
   * a whitelisting pipe keeps), or undefined if it has none.
   */
  constructor(
    options: ClassTransformOptions | undefined,
    private readonly declared: (cls: Function) => ReadonlySet<string> | undefined,
  ) {
    this.enabled = options === undefined || Object.values(options).every((v) => v === undefined);
  }

  /** The instance of `cls` class-transformer would build from `plain`, or undefined when not built here. */
  instance(cls: Function, plain: unknown): object | undefined {
    if (!this.enabled || plain === null || typeof plain !== 'object' || Array.isArray(plain) || !isPlainObject(plain)) return undefined;
    try {
      const options: ClassTransformOptions = { ...defaultOptions };
      const built = this.build(cls, plain as Record<string, unknown>, options);
      return built === NOT_BUILT ? undefined : built;
    } catch {
      return undefined;
    }
  }

  private build(cls: Function, plain: Record<string, unknown>, options: ClassTransformOptions): object | typeof NOT_BUILT {
    const plan = this.planFor(cls);
    if (!plan) return NOT_BUILT;
    const instance = new (cls as new () => Record<string, unknown>)();
    if (instance.constructor !== cls) return NOT_BUILT;
    for (const key of Object.keys(plain)) {
      const property = plan.get(key);
      if (!property || instance[key] instanceof Function) return NOT_BUILT;
      let type: unknown;
      if (property.type) {
        const { typeFunction, reflectedType } = property.type;
        type = typeFunction ? typeFunction({ newObject: instance, object: plain, property: key }) : reflectedType;
        if (type !== undefined && (typeof type !== 'function' || CONVERTED_TYPES.includes(type))) return NOT_BUILT;
      }
      let value = this.convert(plain[key], type as Function | undefined, property, options);
      if (value === NOT_BUILT) return NOT_BUILT;
      for (const { transformFn } of property.transforms) {
        value = transformFn({ value, key, obj: plain, type: TransformationType.PLAIN_TO_CLASS, options });
      }
      instance[key] = value;
    }
    return instance;
  }

  /** A property's value as the executor transforms it (before the property's `@Transform`s). */
  private convert(value: unknown, type: Function | undefined, property: PropertyPlan, options: ClassTransformOptions): unknown {
    if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? NOT_BUILT : value;
    if (Array.isArray(value)) {
      // The executor's copy is `new reflectedType()` when the property has a `@Type`: an array only for `Array`.
      const reflected: unknown = property.type?.reflectedType;
      if (Object.getPrototypeOf(value) !== Array.prototype || (reflected !== undefined && reflected !== Array)) return NOT_BUILT;
      const copy: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) return NOT_BUILT;
        const item: unknown = value[i];
        if (item !== null && typeof item === 'object') {
          if (Array.isArray(item) || !type || !isPlainObject(item)) return NOT_BUILT;
          const built = this.build(type, item as Record<string, unknown>, options);
          if (built === NOT_BUILT) return NOT_BUILT;
          copy.push(built);
        } else if (typeof item === 'function' || typeof item === 'symbol') {
          return NOT_BUILT;
        } else {
          copy.push(item);
        }
      }
      return copy;
    }
    if (!type || !isPlainObject(value)) return NOT_BUILT;
    return this.build(type, value as Record<string, unknown>, options);
  }

  private planFor(cls: Function): Map<string, PropertyPlan> | null {
    let plan = this.plans.get(cls);
    if (plan === undefined) {
      plan = this.compile(cls);
      this.plans.set(cls, plan);
    }
    return plan;
  }

  /** The executor's metadata for each declared property of `cls`, or null if any of it is not modelled. */
  private compile(cls: Function): Map<string, PropertyPlan> | null {
    const declared = this.declared(cls);
    const storage = defaultMetadataStorage;
    if (
      !declared ||
      typeof cls !== 'function' ||
      CONVERTED_TYPES.includes(cls) ||
      storage.getStrategy(cls) !== 'none' ||
      storage.getExposedMetadatas(cls).length > 0 ||
      storage.getExcludedMetadatas(cls).length > 0
    ) {
      return null;
    }
    const plan = new Map<string, PropertyPlan>();
    for (const key of declared) {
      if (STRIPPED_KEYS.has(key) || Object.getOwnPropertyDescriptor(cls.prototype, key) !== undefined) return null;
      const type = storage.findTypeMetadata(cls, key);
      if (type && (type.options?.discriminator || type.reflectedType === Map)) return null;
      const transforms = storage
        .findTransformMetadatas(cls, key, TransformationType.PLAIN_TO_CLASS)
        .filter((m) => !m.options || !m.options.groups || !m.options.groups.length);
      plan.set(key, { type, transforms });
    }
    return plan;
  }
}
