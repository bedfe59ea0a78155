import { parseSelection, serviceSpecs, UsageError } from './services';

describe('parseSelection', () => {
  it('reads no argument as every service, and one service by name', () => {
    expect(parseSelection([])).toEqual({ kind: 'all' });
    expect(parseSelection(['catalog'])).toEqual({ kind: 'one', app: 'catalog' });
    expect(parseSelection(['frontend'])).toEqual({ kind: 'one', app: 'frontend' });
    expect(parseSelection(['order', '2'])).toEqual({ kind: 'one', app: 'order', id: 2 });
  });

  it.each([[['order']], [['order', 'x']], [['order', '2', '3']], [['catalog', '1']], [['frontend', '0']], [['cache']]])('refuses %j', (args) => {
    expect(() => parseSelection(args)).toThrow(UsageError);
  });
});

describe('serviceSpecs', () => {
  const env = {
    HOST: '0.0.0.0',
    CATALOG_PORT: '11001',
    FRONTEND_PORT: '31001',
    ORDER_REPLICAS: '1=http://a:21001,2=http://b:21002',
  };

  it('runs the catalog, every replica of ORDER_REPLICAS and the front end, each with the URL that tells it is ready', () => {
    expect(serviceSpecs(env, { kind: 'all' })).toEqual([
      { name: 'catalog', app: 'catalog', env: {}, readyUrl: 'http://127.0.0.1:11001/health' },
      { name: 'order-1', app: 'order', env: { ORDER_ID: '1' }, readyUrl: 'http://a:21001/ping' },
      { name: 'order-2', app: 'order', env: { ORDER_ID: '2' }, readyUrl: 'http://b:21002/ping' },
      { name: 'frontend', app: 'frontend', env: {}, readyUrl: 'http://127.0.0.1:31001/leader' },
    ]);
  });

  it('uses the apps’ defaults when nothing is set', () => {
    expect(serviceSpecs({}, { kind: 'all' }).map((s) => s.readyUrl)).toEqual([
      'http://127.0.0.1:10001/health',
      'http://127.0.0.1:20001/ping',
      'http://127.0.0.1:20002/ping',
      'http://127.0.0.1:20003/ping',
      'http://127.0.0.1:30001/leader',
    ]);
  });

  it('selects one service, and refuses a replica that is not listed', () => {
    expect(serviceSpecs(env, { kind: 'one', app: 'order', id: 2 }).map((s) => s.name)).toEqual(['order-2']);
    expect(serviceSpecs(env, { kind: 'one', app: 'frontend' }).map((s) => s.name)).toEqual(['frontend']);
    expect(() => serviceSpecs(env, { kind: 'one', app: 'order', id: 3 })).toThrow(/replica 3 is not in ORDER_REPLICAS \(1, 2\)/);
  });

  it('refuses a malformed ORDER_REPLICAS with the variable named', () => {
    expect(() => serviceSpecs({ ORDER_REPLICAS: 'nonsense' }, { kind: 'all' })).toThrow(/ORDER_REPLICAS/);
  });
});

describe('several front ends (FRONTENDS)', () => {
  const env = { FRONTENDS: '2', FRONTEND_PORT: '31001', DATA_DIR: '/srv/bazaar' };

  it('runs each on the next port with a data directory of its own, and lists them all to the catalog', () => {
    const specs = serviceSpecs(env, { kind: 'all' });
    expect(specs.find((s) => s.name === 'catalog')!.env).toEqual({ FRONTEND_URLS: 'http://127.0.0.1:31001,http://127.0.0.1:31002' });
    expect(specs.filter((s) => s.app === 'frontend')).toEqual([
      { name: 'frontend', app: 'frontend', env: {}, readyUrl: 'http://127.0.0.1:31001/leader' },
      {
        name: 'frontend-2',
        app: 'frontend',
        env: { FRONTEND_PORT: '31002', DATA_DIR: '/srv/bazaar/frontend-2', CLUSTER_TOKEN_FILE: '/srv/bazaar/cluster-token' },
        readyUrl: 'http://127.0.0.1:31002/leader',
      },
    ]);
  });

  it('keeps a FRONTEND_URLS or a token the user set', () => {
    const specs = serviceSpecs({ ...env, FRONTEND_URLS: 'http://a:1', CLUSTER_TOKEN: 'x'.repeat(20) }, { kind: 'all' });
    expect(specs.find((s) => s.name === 'catalog')!.env).toEqual({});
    expect(specs.find((s) => s.name === 'frontend-2')!.env).not.toHaveProperty('CLUSTER_TOKEN_FILE');
  });

  it('selects `frontend 2`, and refuses a front end that is not run', () => {
    expect(parseSelection(['frontend', '2'])).toEqual({ kind: 'one', app: 'frontend', id: 2 });
    expect(serviceSpecs(env, { kind: 'one', app: 'frontend', id: 2 }).map((s) => s.name)).toEqual(['frontend-2']);
    expect(() => serviceSpecs(env, { kind: 'one', app: 'frontend', id: 3 })).toThrow(/there are 2 front ends/);
    expect(() => serviceSpecs({ FRONTENDS: '0' }, { kind: 'all' })).toThrow(/FRONTENDS must be a whole number from 1 to 9/);
  });
});
