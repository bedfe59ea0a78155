import { plainToInstance, Transform } from 'class-transformer';
import { IsInt, Max, Min, ValidationError, validateSync } from 'class-validator';

/** Raised when an environment variable is invalid; its message is one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses `"true"/"false"/"1"/"0"/"on"/"off"`; anything else is left for the validator to reject. */
export function EnvBool(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'on', 'yes'].includes(v)) return true;
    if (['false', '0', 'off', 'no'].includes(v)) return false;
    return value;
  });
}

/** Parses a string of digits as an integer; anything else is left for the validator to reject. */
export function EnvInt(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\s*-?\d{1,15}\s*$/.test(value) ? Number(value) : value,
  );
}

/** An integer setting within [min, max]; every failure reports the same clear message. */
export function IntSetting(min: number, max: number, unit = ''): PropertyDecorator {
  const message = `must be an integer${unit} between ${min} and ${max}`;
  const decorators = [EnvInt(), IsInt({ message }), Min(min, { message }), Max(max, { message })];
  return (target, key) => decorators.forEach((d) => d(target, key));
}

/** Settings whose value is a secret: a bad one is described, never repeated (it would end up in logs). */
const SECRET_SETTINGS: ReadonlySet<string> = new Set(['CLUSTER_TOKEN']);

function firstProblem(errors: ValidationError[], raw: Record<string, unknown>): string {
  const err = errors[0];
  const constraint = Object.values(err.constraints ?? {})[0] ?? 'is invalid';
  const got = raw[err.property];
  const shown = SECRET_SETTINGS.has(err.property) ? `a value of ${String(got).length} characters, not shown` : JSON.stringify(got);
  return `${err.property} ${constraint.replace(new RegExp(`^${err.property}\\s*`), '')} (got ${shown})`;
}

/**
 * Parses and validates the environment into a typed object. Unset variables take the class's
 * defaults. Throws a {@link ConfigError} naming the first bad variable.
 */
export function validateEnv<T extends object>(schema: new () => T, env: Record<string, unknown>): T {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const config = plainToInstance(schema, defined, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, whitelist: false, stopAtFirstError: true });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration: ${firstProblem(errors, defined)}`);
  }
  return config;
}
