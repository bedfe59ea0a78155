import { frontendFromCatalog, frontendsFromDifferentReplicas, isolateReplica, leaderFromFrontends, leaderFromOneFrontend } from './partition-shapes';

/** What each partition shape cuts, and how its events name it. */
describe('chaos partition shapes', () => {
  const replicas = [1, 2, 3];

  it('isolates a replica from the other two (the front ends still reach it)', () => {
    expect(isolateReplica(3, 3, replicas)).toMatchObject({ target: 3, replicas: [3], pairs: [['order3', 'order1'], ['order3', 'order2']], short: 'isolate leader', what: 'isolate leader from the other replicas' });
    expect(isolateReplica(1, 3, replicas).short).toBe('isolate follower');
  });

  it('cuts the leader from the one front end as before, and from every front end when there are several', () => {
    expect(leaderFromFrontends(3, ['frontend'])).toMatchObject({ pairs: [['order3', 'frontend']], short: 'leader from front end', what: 'cut leader from the front end' });
    expect(leaderFromFrontends(2, ['frontend', 'frontend-2'])).toMatchObject({
      target: 2,
      replicas: [2],
      pairs: [['order2', 'frontend'], ['order2', 'frontend2']],
      what: 'cut leader from every front end (frontend, frontend-2)',
    });
  });

  it('cuts the leader from one front end only, on that front end\'s host', () => {
    expect(leaderFromOneFrontend(3, 'frontend-2', ['frontend', 'frontend-2', 'frontend-3'])).toMatchObject({
      target: 3,
      pairs: [['order3', 'frontend2']],
      what: 'cut leader from frontend-2 only (frontend, frontend-3 still reach it)',
    });
    expect(leaderFromOneFrontend(3, 'frontend', ['frontend', 'frontend-2']).what).toBe('cut leader from frontend only (frontend-2 still reaches it)');
  });

  it('cuts two front ends from different replicas, leaving one that both reach, which they must settle on', () => {
    const shape = frontendsFromDifferentReplicas(3, ['frontend', 'frontend-2'], 2, replicas);
    expect(shape).toMatchObject({
      target: 3,
      replicas: [3, 2],
      pairs: [['order3', 'frontend'], ['order2', 'frontend2']],
      mustSettleOn: 1,
      what: 'cut frontend from leader order-3 and frontend-2 from follower order-2: both reach order-1 only',
    });
    expect(() => frontendsFromDifferentReplicas(3, ['frontend', 'frontend-2'], 3, replicas)).toThrow(/no replica both/);
  });

  it('cuts one front end from the catalog, its push relay too, and excuses only the lookups through it', () => {
    expect(frontendFromCatalog('frontend-2', ['frontend', 'frontend-2'])).toEqual({
      kind: 'frontend-from-catalog',
      target: 'frontend-2',
      replicas: [],
      pairs: [['catalog', 'frontend2']],
      relays: ['frontend-2'],
      scope: { frontend: 'frontend-2', kinds: ['read'] },
      short: 'one front end from catalog',
      what: 'cut frontend-2 from the catalog, pushes to it lost too (frontend still reaches the catalog)',
    });
    expect(frontendFromCatalog('frontend', ['frontend'])).toMatchObject({
      pairs: [['catalog', 'frontend']],
      relays: ['frontend'],
      scope: { frontend: 'frontend', kinds: ['read'] },
      short: 'front end from catalog',
      what: 'cut frontend from the catalog, pushes to it lost too',
    });
    expect(frontendFromCatalog('frontend', ['frontend', 'frontend-2', 'frontend-3']).what).toMatch(/\(frontend-2, frontend-3 still reach the catalog\)$/);
  });
});
