import { catalogUrl, frontendUrls, parseSelection, serviceSpecs, UsageError } from './services';

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
    const catalog = { CATALOG_URL: 'http://127.0.0.1:11001' };
    expect(serviceSpecs(env, { kind: 'all' })).toEqual([
      { name: 'catalog', app: 'catalog', env: { FRONTEND_URLS: 'http://127.0.0.1:31001' }, readyUrl: 'http://127.0.0.1:11001/health', standIn: false },
      { name: 'order-1', app: 'order', env: { ORDER_ID: '1', ...catalog }, readyUrl: 'http://a:21001/ping', standIn: true },
      { name: 'order-2', app: 'order', env: { ORDER_ID: '2', ...catalog }, readyUrl: 'http://b:21002/ping', standIn: true },
      { name: 'frontend', app: 'frontend', env: catalog, readyUrl: 'http://127.0.0.1:31001/leader', standIn: false },
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

  it('tells each service where the others listen when they are on the default ports too', () => {
    const specs = serviceSpecs({}, { kind: 'all' });
    const peers = { CATALOG_URL: 'http://127.0.0.1:10001', ORDER_REPLICAS: '1=http://127.0.0.1:20001,2=http://127.0.0.1:20002,3=http://127.0.0.1:20003' };
    expect(specs.map((s) => [s.name, s.env])).toEqual([
      ['catalog', { FRONTEND_URLS: 'http://127.0.0.1:30001' }],
      ['order-1', { ORDER_ID: '1', ...peers }],
      ['order-2', { ORDER_ID: '2', ...peers }],
      ['order-3', { ORDER_ID: '3', ...peers }],
      ['frontend', peers],
    ]);
  });

  it('selects one service, and refuses a replica that is not listed', () => {
    expect(serviceSpecs(env, { kind: 'one', app: 'order', id: 2 }).map((s) => s.name)).toEqual(['order-2']);
    expect(serviceSpecs(env, { kind: 'one', app: 'frontend' }).map((s) => s.name)).toEqual(['frontend']);
    expect(() => serviceSpecs(env, { kind: 'one', app: 'order', id: 3 })).toThrow(/replica 3 is not in ORDER_REPLICAS \(1, 2\)/);
  });

  it('restarts at once only what nothing stands in for: the catalog, a lone front end, a lone replica', () => {
    const standIn = (e: NodeJS.ProcessEnv) => Object.fromEntries(serviceSpecs(e, { kind: 'all' }).map((s) => [s.name, s.standIn]));
    expect(standIn({})).toEqual({ catalog: false, 'order-1': true, 'order-2': true, 'order-3': true, frontend: false });
    expect(standIn({ FRONTENDS: '2' })).toMatchObject({ catalog: false, frontend: true, 'frontend-2': true });
    expect(standIn({ ORDER_REPLICAS: '1=http://a:21001' })).toMatchObject({ 'order-1': false });
  });

  it('refuses a malformed ORDER_REPLICAS with the variable named', () => {
    expect(() => serviceSpecs({ ORDER_REPLICAS: 'nonsense' }, { kind: 'all' })).toThrow(/ORDER_REPLICAS/);
  });
});

describe('several front ends (FRONTENDS)', () => {
  const env = { FRONTENDS: '2', FRONTEND_PORT: '31001', DATA_DIR: '/srv/bazaar' };
  const peers = { CATALOG_URL: 'http://127.0.0.1:10001', ORDER_REPLICAS: '1=http://127.0.0.1:20001,2=http://127.0.0.1:20002,3=http://127.0.0.1:20003' };

  it('runs each on the next port with a data directory of its own, and lists them all to the catalog', () => {
    const specs = serviceSpecs(env, { kind: 'all' });
    expect(specs.find((s) => s.name === 'catalog')!.env).toEqual({ FRONTEND_URLS: 'http://127.0.0.1:31001,http://127.0.0.1:31002' });
    expect(specs.filter((s) => s.app === 'frontend')).toEqual([
      { name: 'frontend', app: 'frontend', env: peers, readyUrl: 'http://127.0.0.1:31001/leader', standIn: true },
      {
        name: 'frontend-2',
        app: 'frontend',
        env: { ...peers, FRONTEND_PORT: '31002', DATA_DIR: '/srv/bazaar/frontend-2', CLUSTER_TOKEN_FILE: '/srv/bazaar/cluster-token' },
        readyUrl: 'http://127.0.0.1:31002/leader',
        standIn: true,
      },
    ]);
  });

  it('keeps a FRONTEND_URLS or a token the user set', () => {
    const specs = serviceSpecs({ ...env, FRONTEND_URLS: 'http://a:1', CLUSTER_TOKEN: 'x'.repeat(20) }, { kind: 'all' });
    expect(specs.find((s) => s.name === 'catalog')!.env).toEqual({});
    expect(specs.find((s) => s.name === 'frontend-2')!.env).not.toHaveProperty('CLUSTER_TOKEN_FILE');
  });

  it('lists every front end even when FRONTEND_URL is set: a list of one cannot name them all', () => {
    const specs = serviceSpecs({ ...env, FRONTEND_URL: 'http://a:1' }, { kind: 'all' });
    expect(specs.find((s) => s.name === 'catalog')!.env).toEqual({ FRONTEND_URLS: 'http://127.0.0.1:31001,http://127.0.0.1:31002' });
  });

  it('selects `frontend 2`, and refuses a front end that is not run', () => {
    expect(parseSelection(['frontend', '2'])).toEqual({ kind: 'one', app: 'frontend', id: 2 });
    expect(serviceSpecs(env, { kind: 'one', app: 'frontend', id: 2 }).map((s) => s.name)).toEqual(['frontend-2']);
    expect(() => serviceSpecs(env, { kind: 'one', app: 'frontend', id: 3 })).toThrow(/there are 2 front ends/);
    expect(() => serviceSpecs({}, { kind: 'one', app: 'frontend', id: 2 })).toThrow('there is 1 front end (FRONTENDS), not 2');
    expect(() => serviceSpecs({ FRONTENDS: '0' }, { kind: 'all' })).toThrow(/FRONTENDS must be a whole number from 1 to 9/);
  });
});

describe('the ports and HOST the URLs are made from', () => {
  // Each would otherwise reach a service as part of a URL, named as a setting the user never set
  // (`FRONTEND_URLS must be … (got "http://127.0.0.1:NaN")`).
  it.each([
    [{ FRONTEND_PORT: 'abc' }, 'FRONTEND_PORT must be a port number from 1 to 65535 (got "abc")'],
    [{ FRONTEND_PORT: '70000' }, 'FRONTEND_PORT must be a port number from 1 to 65535 (got "70000")'],
    [{ CATALOG_PORT: '99999' }, 'CATALOG_PORT must be a port number from 1 to 65535 (got "99999")'],
    [{ CATALOG_PORT: '0' }, 'CATALOG_PORT must be a port number from 1 to 65535 (got "0")'],
    [{ FRONTEND_PORT: '65535', FRONTENDS: '2' }, 'FRONTEND_PORT must leave room for 2 front ends below port 65536 (got 65535)'],
    [{ HOST: '256.1.1.1' }, 'HOST must be a host name or an IP address (got "256.1.1.1")'],
  ])('%j: %s', (env, message) => {
    expect(() => serviceSpecs(env, { kind: 'all' })).toThrow(message);
  });

  it('takes a port with spaces around it, and a host name or an IPv6 address', () => {
    expect(frontendUrls({ FRONTEND_PORT: ' 30005 ', HOST: 'bazaar.local' })).toEqual(['http://bazaar.local:30005']);
    expect(catalogUrl({ HOST: '::1' })).toBe('http://[::1]:10001');
  });
});

describe('where each service finds the others (unless the user said)', () => {
  const catalogEnv = (env: NodeJS.ProcessEnv) => serviceSpecs(env, { kind: 'all' }).find((s) => s.name === 'catalog')!.env;
  const othersEnv = (env: NodeJS.ProcessEnv) => serviceSpecs(env, { kind: 'all' }).filter((s) => s.app !== 'catalog').map((s) => s.env);

  it('FRONTEND_PORT with one front end: the catalog pushes its invalidations to that port, not to the default one', () => {
    expect(catalogEnv({ FRONTEND_PORT: '30005' })).toEqual({ FRONTEND_URLS: 'http://127.0.0.1:30005' });
    expect(catalogEnv({ FRONTEND_PORT: '30005', HOST: 'localhost' })).toEqual({ FRONTEND_URLS: 'http://localhost:30005' });
    expect(serviceSpecs({ FRONTEND_PORT: '30005' }, { kind: 'one', app: 'catalog' })[0].env).toEqual({ FRONTEND_URLS: 'http://127.0.0.1:30005' });
  });

  it('keeps a FRONTEND_URL or FRONTEND_URLS the user set', () => {
    expect(catalogEnv({ FRONTEND_PORT: '30005', FRONTEND_URL: 'http://proxy:80' })).toEqual({});
    expect(catalogEnv({ FRONTEND_PORT: '30005', FRONTEND_URLS: 'http://a:1,http://b:2' })).toEqual({});
  });

  it('CATALOG_PORT: the replicas and the front ends call the catalog on that port, unless CATALOG_URL is set', () => {
    for (const e of othersEnv({ CATALOG_PORT: '10005' })) expect(e).toMatchObject({ CATALOG_URL: 'http://127.0.0.1:10005' });
    for (const e of othersEnv({ CATALOG_PORT: '10005', CATALOG_URL: 'http://catalog:9' })) expect(e).not.toHaveProperty('CATALOG_URL');
  });

  it('HOST: the replicas are on the default ports there, unless ORDER_REPLICAS is set', () => {
    const specs = serviceSpecs({ HOST: '10.1.2.3' }, { kind: 'all' });
    const peers = { CATALOG_URL: 'http://10.1.2.3:10001', ORDER_REPLICAS: '1=http://10.1.2.3:20001,2=http://10.1.2.3:20002,3=http://10.1.2.3:20003' };
    expect(specs.find((s) => s.name === 'order-2')!.env).toEqual({ ORDER_ID: '2', ...peers });
    expect(specs.find((s) => s.name === 'frontend')!.env).toEqual(peers);
    expect(specs.map((s) => s.readyUrl)).toEqual([
      'http://10.1.2.3:10001/health',
      'http://10.1.2.3:20001/ping',
      'http://10.1.2.3:20002/ping',
      'http://10.1.2.3:20003/ping',
      'http://10.1.2.3:30001/leader',
    ]);
    expect(catalogEnv({ HOST: '::1' })).toEqual({ FRONTEND_URLS: 'http://[::1]:30001' });
    expect(catalogEnv({ HOST: '[::]' })).toEqual({ FRONTEND_URLS: 'http://127.0.0.1:30001' });
    for (const e of othersEnv({ HOST: '10.1.2.3', ORDER_REPLICAS: '1=http://a:1' })) expect(e).not.toHaveProperty('ORDER_REPLICAS');
  });
});
