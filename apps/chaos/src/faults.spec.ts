import { electionStorm, FAULT_KINDS, faultKindsFor } from './faults';

/** Which fault kinds a run can combine, by its number of front ends. */
describe('chaos faults: faultKindsFor', () => {
  const processKinds = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'kill-catalog', 'pause-catalog'];

  it('"all" with one front end: the replicas\' and the catalog\'s faults, and partitions', () => {
    expect(faultKindsFor('all', 1)).toEqual([...processKinds, 'partition']);
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
    expect(faultKindsFor(undefined, 1)).toEqual(processKinds);
    expect(faultKindsFor(undefined, 2)).toEqual([...processKinds, 'pause-frontend', 'kill-frontend', 'lose-pushes']);
  });
});

describe('chaos faults: electionStorm', () => {
  it('lets a run end at up to four epochs per fault and front end, plus one per front end and one', () => {
    expect(electionStorm(1, 0, 1)).toBeUndefined();
    expect(electionStorm(3, 0, 2)).toBeUndefined(); // no fault, and a spurious election by each front end
    expect(electionStorm(11, 18, 2)).toBeUndefined(); // an aggressive 120 s run with two front ends
    expect(electionStorm(67, 8, 2)).toBeUndefined();
  });

  it('names front ends deposing each other\'s leaders: epochs far beyond the faults', () => {
    expect(electionStorm(309, 8, 2)).toBe("epoch 309 after 8 faults: more than 4 elections per fault and front end (at most 67): front ends deposing each other's leaders");
    expect(electionStorm(4, 0, 2)).toMatch(/^epoch 4 after 0 faults: .+ \(at most 3\)/);
  });
});

describe('chaos faults: the catalog\'s faults and the lease', () => {
  it('with a lease of at most 3 s by default and in "all"; longer, left out, and refused when asked for', () => {
    expect(faultKindsFor(undefined, 1, 3000)).toContain('kill-catalog');
    expect(faultKindsFor(undefined, 1, 3001)).not.toContain('kill-catalog');
    expect(faultKindsFor(undefined, 2, 10_000)).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'pause-frontend', 'kill-frontend', 'lose-pushes']);
    expect(faultKindsFor('all', 1, 30_000)).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'partition']);
    expect(() => faultKindsFor(['kill-leader', 'pause-catalog'], 1, 10_000)).toThrow(/pause-catalog needs --lease-ms 3000 or less/);
    expect(faultKindsFor(['pause-catalog'], 1, 2000)).toEqual(['pause-catalog']);
  });
});
