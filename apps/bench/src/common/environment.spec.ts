import { CatalogEnv, FrontendEnv, OrderEnv } from '@app/contracts';
// The fixtures alone: the testkit's index loads the supervisor, which finds the repository root
// from `__dirname`, and Jest's ES-module mode does not define it.
import { settingsEnv, TEST_ENV } from '@app/testkit/fixtures';
import { BENCH_CLUSTER } from './cluster-settings';
import { timestamp } from './format';

/** Every setting an app declares, with its declared default as the environment would carry it. */
function declaredDefaults(): Record<string, string> {
  const defaults: Record<string, unknown> = { ...new CatalogEnv(), ...new OrderEnv(), ...new FrontendEnv() };
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, String(v)]));
}

describe('bench environment', () => {
  it("starts the bench's cluster with the apps' own settings, logging warnings only", () => {
    const env = { ...settingsEnv(BENCH_CLUSTER.settings), ...BENCH_CLUSTER.env };
    expect(env).toEqual({ LOG_LEVEL: 'warn' });
    expect(Object.keys(env).filter((k) => !(k in declaredDefaults()))).toEqual([]);
  });

  it("measures at these defaults of every setting the tests speed up (each one an app declares)", () => {
    const declared = declaredDefaults();
    expect(Object.fromEntries(Object.keys(TEST_ENV).map((k) => [k, declared[k]]))).toEqual({
      LOG_LEVEL: 'log',
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

  it('names result files by local time, safely', () => {
    expect(timestamp(new Date(2026, 0, 31, 9, 5, 7))).toBe('2026-01-31T09-05-07');
  });
});
