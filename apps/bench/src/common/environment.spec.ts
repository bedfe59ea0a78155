import { timestamp } from './format';
import { productionEnv } from './production-env';

/** The keys the testkit overrides (libs/testkit TEST_ENV), as of this writing. */
const TESTKIT_KEYS = {
  LOG_LEVEL: 'warn',
  ELECTION_INTERVAL_MS: '100',
  PING_TIMEOUT_MS: '400',
  HEARTBEAT_INTERVAL_MS: '100',
  FOLLOWER_TIMEOUT_MS: '1000',
  PEER_TIMEOUT_MS: '1000',
  DURABILITY_TIMEOUT_MS: '2000',
  RECONCILE_INTERVAL_MS: '300',
  FORWARD_TIMEOUT_MS: '3000',
  FAILOVER_TIMEOUT_MS: '20000',
  SWAGGER_ENABLED: 'true',
};

describe('bench environment', () => {
  it("maps every testkit override back to the apps' declared defaults, logging warnings only", () => {
    expect(productionEnv(TESTKIT_KEYS)).toEqual({
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

  it('leaves out a variable no app declares', () => {
    expect(productionEnv({ NOT_A_SETTING: '1' })).toEqual({ LOG_LEVEL: 'warn' });
  });

  it('names result files by local time, safely', () => {
    expect(timestamp(new Date(2026, 0, 31, 9, 5, 7))).toBe('2026-01-31T09-05-07');
  });
});
