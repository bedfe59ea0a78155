import { FAULT_KINDS, faultKindsFor } from './faults';

/** Which fault kinds a run can combine, by its number of front ends. */
describe('chaos faults: faultKindsFor', () => {
  const replicaKinds = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point'];

  it('"all" with one front end: the replicas\' faults and partitions', () => {
    expect(faultKindsFor('all', 1)).toEqual([...replicaKinds, 'partition']);
  });

  it('"all" with several front ends: every kind, partitions and the front ends\' faults together', () => {
    expect(faultKindsFor('all', 2)).toEqual([...FAULT_KINDS]);
    expect(faultKindsFor('all', 4)).toEqual([...FAULT_KINDS]);
  });

  it('partitions with several front ends and with the front ends\' faults, as asked', () => {
    const asked = ['partition', 'pause-frontend', 'kill-frontend', 'lose-pushes'] as const;
    expect(faultKindsFor(asked, 2)).toEqual([...asked]);
    expect(faultKindsFor(['partition'], 3)).toEqual(['partition']);
  });

  it('partitions with lost pushes and one front end (the relays are on the lab\'s bridge)', () => {
    expect(faultKindsFor(['partition', 'lose-pushes'], 1)).toEqual(['partition', 'lose-pushes']);
  });

  it('still refuses pausing or killing the only front end, partitions or not', () => {
    expect(() => faultKindsFor(['partition', 'kill-frontend'], 1)).toThrow(/kill-frontend needs --frontends 2 or more/);
    expect(() => faultKindsFor(['pause-frontend'], 1)).toThrow(/pause-frontend needs --frontends 2 or more/);
  });

  it('defaults to the process faults, the front ends\' with several, never partitions', () => {
    expect(faultKindsFor(undefined, 1)).toEqual(replicaKinds);
    expect(faultKindsFor(undefined, 2)).toEqual([...replicaKinds, 'pause-frontend', 'kill-frontend', 'lose-pushes']);
  });
});
