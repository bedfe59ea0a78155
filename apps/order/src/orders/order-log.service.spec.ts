import { ReplicaRole } from '@app/contracts';
import { lookupVerdict, VouchingState } from './order-log.service';

/** A replica whose log ends at 10, with 7 committed. */
const replica = (role: ReplicaRole, over: Partial<VouchingState> = {}): VouchingState => ({
  role,
  commitNo: 7,
  lastNo: 10,
  ackByLeaderAlone: false,
  ...over,
});

describe('lookupVerdict: a replica answers an order lookup only when it can vouch for the answer', () => {
  it('a settled leader serves committed orders, refuses appended but unacknowledged ones, and says 404 beyond its log', () => {
    const leader = replica('leader');
    expect(lookupVerdict(1, leader)).toBe('serve');
    expect(lookupVerdict(7, leader)).toBe('serve'); // at the commit point
    expect(lookupVerdict(8, leader)).toBe('cannot_vouch'); // above it: not acknowledged, may be dropped and renumbered
    expect(lookupVerdict(10, leader)).toBe('cannot_vouch'); // its last order, still not committed
    expect(lookupVerdict(11, leader)).toBe('absent'); // beyond the last order: it holds every acknowledged one
    expect(lookupVerdict(99999, leader)).toBe('absent');
  });

  it('a settled leader whose log is all committed serves through its last order', () => {
    const leader = replica('leader', { commitNo: 10 });
    expect(lookupVerdict(10, leader)).toBe('serve');
    expect(lookupVerdict(11, leader)).toBe('absent');
  });

  it('a leader still promoting (catching up) serves committed orders but never says 404', () => {
    const promoting = replica('promoting');
    expect(lookupVerdict(7, promoting)).toBe('serve');
    expect(lookupVerdict(8, promoting)).toBe('cannot_vouch');
    expect(lookupVerdict(10, promoting)).toBe('cannot_vouch');
    expect(lookupVerdict(11, promoting)).toBe('cannot_vouch');
    expect(lookupVerdict(99999, promoting)).toBe('cannot_vouch');
  });

  it.each<ReplicaRole>(['follower', 'recovering'])('a %s serves up to its commit point and never says 404', (role) => {
    const follower = replica(role);
    expect(lookupVerdict(1, follower)).toBe('serve');
    expect(lookupVerdict(7, follower)).toBe('serve');
    expect(lookupVerdict(8, follower)).toBe('cannot_vouch');
    expect(lookupVerdict(10, follower)).toBe('cannot_vouch');
    expect(lookupVerdict(11, follower)).toBe('cannot_vouch');
  });

  it('a follower whose commit point was learnt beyond its log (it is behind) serves only what it holds', () => {
    const behind = replica('follower', { commitNo: 20, lastNo: 10 });
    expect(lookupVerdict(10, behind)).toBe('serve');
    expect(lookupVerdict(11, behind)).toBe('cannot_vouch');
  });

  it('an empty replica: a settled leader says 404, anyone else cannot vouch', () => {
    const empty = { commitNo: 0, lastNo: 0 };
    expect(lookupVerdict(1, replica('leader', empty))).toBe('absent');
    for (const role of ['promoting', 'follower', 'recovering'] as const) expect(lookupVerdict(1, replica(role, empty))).toBe('cannot_vouch');
  });

  it('ORDER_ACK_MODE=leader: a settled leader acknowledges its whole log, so it serves it; the others still go by the commit point', () => {
    const ack = { ackByLeaderAlone: true };
    expect(lookupVerdict(10, replica('leader', ack))).toBe('serve');
    expect(lookupVerdict(11, replica('leader', ack))).toBe('absent');
    expect(lookupVerdict(8, replica('promoting', ack))).toBe('cannot_vouch');
    expect(lookupVerdict(8, replica('follower', ack))).toBe('cannot_vouch');
    expect(lookupVerdict(7, replica('follower', ack))).toBe('serve');
  });
});
