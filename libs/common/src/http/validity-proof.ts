import { getMetadataStorage, ValidationArguments, ValidationTypes, ValidatorConstraintInterface, ValidatorOptions } from 'class-validator';

/** class-validator's record of one decorator (its `ValidationMetadata`, which the package does not export by name). */
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

/** One constraint of a property, with its validator resolved once. */
interface Check {
  meta: ValidationMetadata;
  validators: ValidatorConstraintInterface[];
}

/** What class-validator would check of one property. */
interface PropertyPlan {
  name: string;
  /** `@IsOptional`, `@ValidateIf`: the property is checked only when all of them hold. */
  conditions: ValidationMetadata[];
  /** `@IsDefined`, then the other constraints, in class-validator's order. */
  checks: Check[];
  /** `@ValidateNested`. */
  nested: boolean;
}

interface ClassPlan {
  properties: PropertyPlan[];
  names: Set<string>;
}

/** The validator options the proof holds for: the one validation pipe's (see createValidationPipe). */
const SUPPORTED_OPTIONS = new Set<keyof ValidatorOptions>(['whitelist', 'forbidUnknownValues', 'stopAtFirstError', 'validationError', 'enableDebugMessages']);

/**
 * Proves, without class-validator's executor, that class-validator would find nothing wrong with
 * an object (a DTO instance from class-transformer) and would strip nothing from it — or answers
 * "not proven", and the caller validates as usual.
 *
 * Why: an internal hop (a sync, a batch of trades) spends about a sixth of a millisecond of CPU in
 * `validate()` on this VM, most of it the executor's generic work (metadata lookups and grouping
 * per object, error objects built for every property, a promise per call), not the constraints.
 * Nearly every body is valid, and for a valid one the answer is just "no errors".
 *
 * How it stays exact: it asks class-validator's metadata storage for each class's constraints (as
 * the executor does, with the same arguments) and runs class-validator's own constraint
 * validators on the same values and arguments, in a plan compiled once per class. It proves only
 * what it models exactly — synchronous constraints (`each` over arrays too), `@IsOptional` /
 * `@ValidateIf`, `@IsDefined`, `@ValidateNested` of instances and arrays of them, `whitelist`
 * (an object with a property the class does not declare is not proven: the executor would strip
 * it) and `forbidUnknownValues` — and answers "not proven" for anything else: an async
 * constraint, a Set or Map, a promise, groups, a class without constraints, an array hole, other
 * validator options. "Not proven" costs only the check itself: class-validator then runs as before,
 * with its own error messages. (Schemas registered by name, `registerSchema`, are not modelled; the
 * bazaar has none.) `validity-proof.spec.ts` checks the proof against class-validator
 * on every DTO of the contracts with valid and mutated inputs.
 */
export class ValidityProof {
  private readonly plans = new Map<Function, ClassPlan | null>();
  private readonly storage = getMetadataStorage();
  readonly enabled: boolean;

  constructor(options: ValidatorOptions) {
    this.enabled =
      options.whitelist === true &&
      options.forbidNonWhitelisted !== true &&
      Object.entries(options).every(([k, v]) => v === undefined || SUPPORTED_OPTIONS.has(k as keyof ValidatorOptions));
  }

  /**
   * True only if class-validator (with the options given) would return no error and strip nothing.
   * A constraint that throws proves nothing: class-validator then runs it again, and decides.
   */
  proves(object: unknown): boolean {
    if (!this.enabled) return false;
    try {
      return this.objectIsValid(object);
    } catch {
      return false;
    }
  }

  /** The properties class-validator declares for `cls` (whitelisting keeps these only), or undefined when the proof does not model the class. */
  declaredProperties(cls: Function): ReadonlySet<string> | undefined {
    return this.planFor(cls)?.names;
  }

  private objectIsValid(object: unknown): boolean {
    if (object === null || typeof object !== 'object' || Array.isArray(object)) return false;
    const plan = this.planFor(object.constructor);
    if (!plan) return false;
    for (const key of Object.keys(object)) if (!plan.names.has(key)) return false;
    const target = object as Record<string, unknown>;
    for (const property of plan.properties) {
      const value = target[property.name];
      if (!property.conditions.every((c) => (c.constraints[0] as (o: object, v: unknown) => boolean)(object, value))) continue;
      for (const check of property.checks) if (!this.passes(check, target, value)) return false;
      if (property.nested && value !== undefined && !this.nestedIsValid(value)) return false;
    }
    return true;
  }

  /** A `@ValidateNested` value: an instance of a class with constraints, or an array of them (nested arrays too). */
  private nestedIsValid(value: unknown): boolean {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value) || value[i] === undefined || !this.nestedIsValid(value[i])) return false;
      }
      return true;
    }
    return value instanceof Object && !(value instanceof Set) && !(value instanceof Map) && this.objectIsValid(value);
  }

  private passes(check: Check, object: Record<string, unknown>, value: unknown): boolean {
    const { meta } = check;
    if (meta.validateIf && !meta.validateIf(object, value)) return true;
    if (value instanceof Set || value instanceof Map) return false;
    const args: ValidationArguments = { targetName: object.constructor?.name, property: meta.propertyName, object, value, constraints: meta.constraints };
    const values = meta.each && Array.isArray(value) ? value : [value];
    for (const validator of check.validators) {
      for (const v of values) {
        // class-validator takes any truthy answer as valid; a promise (an async validator after all) is not proven.
        const ok: unknown = validator.validate(v, args);
        if (!ok || typeof (ok as { then?: unknown }).then === 'function') return false;
      }
    }
    return true;
  }

  private planFor(ctor: Function | undefined): ClassPlan | null {
    if (typeof ctor !== 'function') return null;
    let plan = this.plans.get(ctor);
    if (plan === undefined) {
      plan = this.compile(ctor);
      this.plans.set(ctor, plan);
    }
    return plan;
  }

  /** The executor's metadata for `ctor` (top-level arguments: no schema, no groups, `always` off), or null if any of it is not modelled. */
  private compile(ctor: Function): ClassPlan | null {
    const metas = this.storage.getTargetValidationMetadatas(ctor, undefined as unknown as string, false, false, undefined);
    if (metas.length === 0) return null;
    const grouped = this.storage.groupByPropertyName(metas);
    const properties: PropertyPlan[] = [];
    for (const [name, list] of Object.entries(grouped)) {
      const property: PropertyPlan = { name, conditions: [], checks: [], nested: false };
      const defined: Check[] = [];
      for (const meta of list) {
        if (typeof meta.target !== 'function') return null;
        switch (meta.type) {
          case ValidationTypes.WHITELIST:
            break;
          case ValidationTypes.CONDITIONAL_VALIDATION:
            if (typeof meta.constraints?.[0] !== 'function') return null;
            property.conditions.push(meta);
            break;
          case ValidationTypes.NESTED_VALIDATION:
            property.nested = true;
            break;
          case ValidationTypes.IS_DEFINED:
          case ValidationTypes.CUSTOM_VALIDATION: {
            const constraints = this.storage.getTargetValidatorConstraints(meta.constraintCls);
            if (constraints.length === 0 || constraints.some((c) => c.async)) return null;
            const check = { meta, validators: constraints.map((c) => c.instance) };
            (meta.type === ValidationTypes.IS_DEFINED ? defined : property.checks).push(check);
            break;
          }
          default:
            return null;
        }
      }
      property.checks.unshift(...defined);
      properties.push(property);
    }
    return { properties, names: new Set(properties.map((p) => p.name)) };
  }
}
