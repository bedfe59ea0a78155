import { ConfigError, validateEnv } from './env';
import { CatalogEnv, FrontendEnv, OrderEnv } from './schemas';
import { MAX_FAILOVER_TIMEOUT_MS, MIN_IDEMPOTENCY_RETENTION_MS } from '../idempotency';

describe('validateEnv', () => {
  it('names a bad secret without repeating it', () => {
    expect(() => validateEnv(CatalogEnv, { CLUSTER_TOKEN: 'my secret\n' })).toThrow(
      'Invalid configuration: CLUSTER_TOKEN must be 16 to 256 printable characters without spaces (got a value of 10 characters, not shown)',
    );
  });

  it('fills defaults for unset variables', () => {
    const env = validateEnv(FrontendEnv, {});
    expect(env).toMatchObject({ FRONTEND_PORT: 30001, CACHE_ENABLED: true, CACHE_CAPACITY: 100, DATA_DIR: './data' });
    expect(env.ORDER_REPLICAS.map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it('parses numbers, booleans and the replica list', () => {
    const env = validateEnv(OrderEnv, {
      ORDER_ID: '2',
      ORDER_REPLICAS: '2=http://10.0.0.2:9000, 1=http://10.0.0.1:9000',
      ORDER_ACK_MODE: 'leader',
      SWAGGER_ENABLED: 'off',
    });
    expect(env.ORDER_ID).toBe(2);
    expect(env.ORDER_REPLICAS).toEqual([
      { id: 1, url: 'http://10.0.0.1:9000' },
      { id: 2, url: 'http://10.0.0.2:9000' },
    ]);
    expect(env.ORDER_ACK_MODE).toBe('leader');
    expect(env.SWAGGER_ENABLED).toBe(false);
  });

  it('takes the shortest key window and the longest trade retry span, which fit together', () => {
    expect(validateEnv(OrderEnv, { ORDER_ID: '1', IDEMPOTENCY_RETENTION_MS: String(MIN_IDEMPOTENCY_RETENTION_MS) }).IDEMPOTENCY_RETENTION_MS).toBe(60_000);
    expect(validateEnv(CatalogEnv, { IDEMPOTENCY_RETENTION_MS: String(MIN_IDEMPOTENCY_RETENTION_MS) }).IDEMPOTENCY_RETENTION_MS).toBe(60_000);
    expect(validateEnv(FrontendEnv, { FAILOVER_TIMEOUT_MS: String(MAX_FAILOVER_TIMEOUT_MS) }).FAILOVER_TIMEOUT_MS).toBe(30_000);
    expect(2 * MAX_FAILOVER_TIMEOUT_MS).toBeLessThanOrEqual(MIN_IDEMPOTENCY_RETENTION_MS);
  });

  it.each([
    [CatalogEnv, { CATALOG_PORT: 'abc' }, /^Invalid configuration: CATALOG_PORT must be an integer between 1 and 65535 \(got "abc"\)$/],
    [CatalogEnv, { STOCK_CAPACITY: '0' }, /STOCK_CAPACITY must be an integer/],
    [FrontendEnv, { CACHE_ENABLED: 'maybe' }, /CACHE_ENABLED must be true or false/],
    [FrontendEnv, { CATALOG_URL: 'ftp://x' }, /CATALOG_URL must be an http\(s\) URL/],
    [OrderEnv, { ORDER_REPLICAS: '1=http://a:1,1=http://b:2' }, /ORDER_REPLICAS must be a comma-separated list of distinct/],
    [OrderEnv, { ORDER_ID: '4' }, /ORDER_ID must be one of the ids listed in ORDER_REPLICAS/],
    [OrderEnv, { FAULT_POINT: 'everywhere' }, /FAULT_POINT must be one of none/],
    [OrderEnv, { SQLITE_SYNCHRONOUS: 'sometimes' }, /SQLITE_SYNCHRONOUS must be one of/],
    // A key's window outlasts twice the longest a front end may retry a trade with it (MIN_IDEMPOTENCY_RETENTION_MS).
    [OrderEnv, { IDEMPOTENCY_RETENTION_MS: '59999' }, /IDEMPOTENCY_RETENTION_MS must be an integer \(ms\) between 60000 and/],
    [CatalogEnv, { IDEMPOTENCY_RETENTION_MS: '6000' }, /IDEMPOTENCY_RETENTION_MS must be an integer \(ms\) between 60000 and/],
    [FrontendEnv, { FAILOVER_TIMEOUT_MS: '30001' }, /FAILOVER_TIMEOUT_MS must be an integer \(ms\) between 100 and 30000/],
  ] as const)('rejects %p %p with one line naming the variable', (schema, env, message) => {
    expect(() => validateEnv(schema as new () => object, env)).toThrow(ConfigError);
    expect(() => validateEnv(schema as new () => object, env)).toThrow(message);
  });
});
