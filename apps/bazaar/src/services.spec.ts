import { parseSelection, serviceSpecs, UsageError } from './services';

describe('parseSelection', () => {
  it('reads no argument as every service, and one service by name', () => {
    expect(parseSelection([])).toEqual({ kind: 'all' });
    expect(parseSelection(['catalog'])).toEqual({ kind: 'one', app: 'catalog' });
    expect(parseSelection(['frontend'])).toEqual({ kind: 'one', app: 'frontend' });
    expect(parseSelection(['order', '2'])).toEqual({ kind: 'one', app: 'order', id: 2 });
  });

  it.each([[['order']], [['order', 'x']], [['order', '2', '3']], [['catalog', '1']], [['cache']]])('refuses %j', (args) => {
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
