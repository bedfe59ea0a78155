import { buildProgram, parseOptions } from './options';

const parse = (...argv: string[]) => parseOptions(argv, buildProgram().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));

/** The --faults flag: process faults by default; partitions only when asked for (they need root). */
describe('chaos options: --faults', () => {
  it('defaults to every process fault, without partitions', () => {
    expect(parse().faults).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'kill-catalog', 'pause-catalog']);
  });

  it('takes partition alone, in a list, or with every kind as "all"', () => {
    expect(parse('--faults', 'partition').faults).toEqual(['partition']);
    expect(parse('--faults', 'kill-leader,partition').faults).toEqual(['kill-leader', 'partition']);
    expect(parse('--faults', 'all').faults).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'kill-catalog', 'pause-catalog', 'partition']);
  });

  it('refuses an unknown kind', () => {
    expect(() => parse('--faults', 'partition,flood')).toThrow(/unknown fault kind flood/);
  });
});

/** --frontends: the sessions spread over several front ends, which the nemesis may then fault too. */
describe('chaos options: --frontends', () => {
  it('is 1 by default, from 1 to 4', () => {
    expect(parse().frontends).toBe(1);
    expect(parse('--frontends', '3').frontends).toBe(3);
    expect(() => parse('--frontends', '5')).toThrow(/whole number from 1 to 4/);
    expect(() => parse('--frontends', '0')).toThrow(/whole number from 1 to 4/);
  });

  it('with two or more, the default adds the front-end faults, and "all" is every kind, partitions included', () => {
    const withFrontends = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'kill-catalog', 'pause-catalog', 'pause-frontend', 'kill-frontend', 'lose-pushes'];
    expect(parse('--frontends', '2').faults).toEqual(withFrontends);
    expect(parse('--frontends', '2', '--faults', 'all').faults).toEqual([...withFrontends.slice(0, 7), 'pause-frontend', 'kill-frontend', 'lose-pushes', 'partition']);
    expect(parse('--frontends', '2', '--faults', 'kill-frontend').faults).toEqual(['kill-frontend']);
  });

  it('loses pushes with one front end too, when asked', () => {
    expect(parse('--faults', 'lose-pushes,kill-leader').faults).toEqual(['lose-pushes', 'kill-leader']);
  });

  it('refuses pausing or killing the only front end', () => {
    expect(() => parse('--faults', 'kill-frontend')).toThrow(/kill-frontend needs --frontends 2 or more/);
    expect(() => parse('--faults', 'pause-frontend,kill-leader')).toThrow(/pause-frontend needs --frontends 2/);
  });

  it('takes partitions with several front ends and with the front ends\' faults', () => {
    expect(parse('--frontends', '2', '--faults', 'partition').faults).toEqual(['partition']);
    expect(parse('--frontends', '2', '--faults', 'partition,pause-frontend,kill-frontend,lose-pushes').faults).toEqual(['partition', 'pause-frontend', 'kill-frontend', 'lose-pushes']);
    expect(parse('--faults', 'partition,lose-pushes').faults).toEqual(['partition', 'lose-pushes']);
  });
});

/** --lease-ms: the cache lease of every process, for wider front-end fault windows. */
describe('chaos options: --lease-ms', () => {
  it('is the apps\' own by default, and from 1000 to 60000 ms when given', () => {
    expect(parse().leaseMs).toBeUndefined();
    expect(parse('--lease-ms', '3000').leaseMs).toBe(3000);
    expect(() => parse('--lease-ms', '999')).toThrow(/whole number from 1000 to 60000/);
    expect(() => parse('--lease-ms', '60001')).toThrow(/whole number from 1000 to 60000/);
  });
});
