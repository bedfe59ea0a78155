import { hostsFor, HOSTS } from './hosts';

/** The namespace hosts of a partition run. */
describe('chaos hosts: hostsFor', () => {
  it('with one front end is the layout of before, in the same order (so the same addresses)', () => {
    expect(hostsFor(1)).toEqual([...HOSTS]);
  });

  it('adds a host per further front end, after the others', () => {
    expect(hostsFor(3)).toEqual([...HOSTS, 'frontend2', 'frontend3']);
  });
});
