import type { Env } from '@app/testkit';
import { timestamp } from './format';
import { productionEnv } from './production-env';

/**
 * The testkit's real settings, so that a setting added there is caught here. The testkit finds the
 * repository root from `__dirname` when it loads, which Jest's ES-module mode does not define:
 * give it the working directory (npm runs the specs from the root) before loading it.
 */
let TEST_ENV: Env;
beforeAll(async () => {
  Object.assign(globalThis, { __dirname: process.cwd() });
  ({ TEST_ENV } = await import('@app/testkit'));
});

describe('bench environment', () => {
  it("maps every testkit override back to the apps' declared defaults, logging warnings only", () => {
    expect(productionEnv(TEST_ENV)).toEqual({
      LOG_LEVEL: 'warn',
      ELECTION_INTERVAL_MS: '200',
      PING_TIMEOUT_MS: '500',
      HEARTBEAT_INTERVAL_MS: '250',
      FOLLOWER_TIMEOUT_MS: '1000',
      PEER_TIMEOUT_MS: '2000',
      DURABILITY_TIMEOUT_MS: '3000',
      RECONCILE_INTERVAL_MS: '1000',
      FORWARD_TIMEOUT_MS: '5000',
      FAILOVER_TIMEOUT_MS: '15000',
      SWAGGER_ENABLED: 'true',
    });
  });

  it('leaves none of the testkit overrides in place: each one has a declared default', () => {
    expect(Object.keys(productionEnv(TEST_ENV)).sort()).toEqual(Object.keys(TEST_ENV).sort());
  });

  it('leaves out a variable no app declares', () => {
    expect(productionEnv({ NOT_A_SETTING: '1' })).toEqual({ LOG_LEVEL: 'warn' });
  });

  it('names result files by local time, safely', () => {
    expect(timestamp(new Date(2026, 0, 31, 9, 5, 7))).toBe('2026-01-31T09-05-07');
  });
});
