import { buildProgram, parseOptions } from './options';

/** The --faults flag: process faults by default; partitions only when asked for (they need root). */
describe('chaos options: --faults', () => {
  const parse = (...argv: string[]) => parseOptions(argv, buildProgram().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));

  it('defaults to every process fault, without partitions', () => {
    expect(parse().faults).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point']);
  });

  it('takes partition alone, in a list, or with every kind as "all"', () => {
    expect(parse('--faults', 'partition').faults).toEqual(['partition']);
    expect(parse('--faults', 'kill-leader,partition').faults).toEqual(['kill-leader', 'partition']);
    expect(parse('--faults', 'all').faults).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'partition']);
  });

  it('refuses an unknown kind', () => {
    expect(() => parse('--faults', 'partition,flood')).toThrow(/unknown fault kind flood/);
  });
});
