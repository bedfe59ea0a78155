import { CatalogEnv, FrontendEnv, OrderEnv } from '@app/contracts';

/**
 * The testkit starts every process with its `TEST_ENV` (fast failure detection, Swagger on).
 * For a benchmark the apps' own defaults are wanted instead: this maps each of those variables
 * back to the default the apps' configuration schemas declare, with `LOG_LEVEL=warn` so that
 * logging does not weigh on the figures.
 */
export function productionEnv(testEnv: Readonly<Record<string, string>>): Record<string, string> {
  const defaults: Record<string, unknown> = { ...new CatalogEnv(), ...new OrderEnv(), ...new FrontendEnv() };
  const env: Record<string, string> = {};
  for (const key of Object.keys(testEnv)) {
    const value = defaults[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
  }
  env.LOG_LEVEL = 'warn';
  return env;
}
