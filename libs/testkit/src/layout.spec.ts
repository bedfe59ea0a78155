import { acrossHostsLayout, frontendHost, HOST_OF, PORTS } from './layout';

/** The namespace layout of the multi-host suites and the chaos partition runs, with one front end or several. */
describe('acrossHostsLayout', () => {
  it('with one front end is HOST_OF and PORTS as they are', () => {
    expect(acrossHostsLayout()).toEqual({ hostOf: HOST_OF, ports: PORTS, frontendHosts: ['frontend'] });
    expect(acrossHostsLayout(1)).toEqual(acrossHostsLayout());
  });

  it('puts front end n on host frontend<n>, at the first front end\'s port (the partition suite\'s second front end)', () => {
    const { hostOf, ports, frontendHosts } = acrossHostsLayout(3);
    expect(hostOf).toEqual({ ...HOST_OF, 'frontend-2': 'frontend2', 'frontend-3': 'frontend3' });
    expect(ports).toEqual({ ...PORTS, 'frontend-2': 30001, 'frontend-3': 30001 });
    expect(frontendHosts).toEqual(['frontend', 'frontend2', 'frontend3']);
    // Every process on a host of its own.
    expect(new Set(Object.values(hostOf)).size).toBe(Object.keys(hostOf).length);
  });

  it('names a front end\'s host after its process', () => {
    expect(['frontend', 'frontend-2', 'frontend-4'].map(frontendHost)).toEqual(['frontend', 'frontend2', 'frontend4']);
  });
});
