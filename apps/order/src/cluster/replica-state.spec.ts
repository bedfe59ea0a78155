import { IllegalTransition, ReplicaState } from './replica-state';

/** Replica 3 of three, fresh (epoch 0), or as persisted. */
const fresh = (persisted = { epoch: 0, votedFor: null as number | null, leader: null as number | null, commitNo: 0 }) => new ReplicaState(3, persisted);

/** Replica 3 leading `epoch`. */
function leading(epoch = 1): ReplicaState {
  const s = fresh();
  s.follow();
  s.grantVote(epoch, 3);
  s.beginPromotion(epoch);
  s.becomeLeader(epoch);
  return s;
}

describe('ReplicaState', () => {
  describe('votes', () => {
    it('grants a newer epoch, knows the one it granted, and refuses an older one or a second leader for the same epoch', () => {
      const s = fresh();
      expect(s.decideVote(2, 1)).toBe('granted');
      expect(s.grantVote(2, 1)).toBe(false);
      expect({ epoch: s.epoch, leader: s.leader }).toEqual({ epoch: 2, leader: 1 });
      expect(s.decideVote(2, 1)).toBe('known');
      expect(s.decideVote(2, 2)).toBe('refused');
      expect(s.decideVote(1, 1)).toBe('refused');
      expect(() => s.grantVote(2, 2)).toThrow(IllegalTransition);
      expect(() => s.grantVote(1, 3)).toThrow(IllegalTransition);
      expect({ epoch: s.epoch, leader: s.leader }).toEqual({ epoch: 2, leader: 1 });
    });

    it('starts from what was persisted: an epoch granted before a restart is not granted again to another', () => {
      const s = fresh({ epoch: 5, votedFor: 2, leader: 2, commitNo: 9 });
      expect(s.decideVote(5, 1)).toBe('refused');
      expect(s.decideVote(5, 2)).toBe('known');
      expect(s.decideVote(4, 1)).toBe('refused');
      expect(s.commitNo).toBe(9);
      expect(s.role).toBe('recovering');
    });

    it('tells a leader that a vote for another replica deposes it, and not a follower', () => {
      expect(leading(1).grantVote(2, 1)).toBe(true);
      const follower = fresh();
      follower.follow();
      expect(follower.grantVote(1, 2)).toBe(false);
      const reelected = leading(1);
      expect(reelected.grantVote(2, 3)).toBe(false);
    });
  });

  describe('leaders, apart from votes', () => {
    it('learns the leader that won an epoch it voted another candidate for, and still grants that epoch to nobody else', () => {
      const s = fresh();
      s.follow();
      s.grantVote(4, 3); // voted for itself
      s.beginPromotion(4);
      expect(s.decideLeader(4, 1)).toBe('accepted');
      expect(s.acceptLeader(4, 1)).toBe(true); // it lost: step down
      expect({ epoch: s.epoch, leader: s.leader, votedFor: s.votedFor }).toEqual({ epoch: 4, leader: 1, votedFor: 3 });
      expect(s.decideLeader(4, 1)).toBe('known');
      expect(s.decideVote(4, 1)).toBe('refused');
      expect(s.mayAppendAsLeader(4)).toBe(true); // still promoting until it steps down…
      s.stepDown();
      expect(s.mayAppendAsLeader(4)).toBe(false);
    });

    it('adopts a newer epoch from its leader as its vote, and refuses an older epoch', () => {
      const s = fresh({ epoch: 2, votedFor: 2, leader: 2, commitNo: 0 });
      expect(s.acceptLeader(5, 1)).toBe(false);
      expect({ epoch: s.epoch, leader: s.leader, votedFor: s.votedFor }).toEqual({ epoch: 5, leader: 1, votedFor: 1 });
      expect(s.decideVote(5, 2)).toBe('refused');
      expect(s.decideLeader(4, 2)).toBe('refused');
      expect(() => s.acceptLeader(4, 2)).toThrow(IllegalTransition);
      expect(() => s.acceptLeader(5, 1)).toThrow(/known/);
    });
  });

  describe('roles', () => {
    it('goes recovering → follower → promoting → leader → recovering', () => {
      const changes: string[] = [];
      const s = new ReplicaState(3, { epoch: 0, votedFor: null, leader: null, commitNo: 0 }, (from, to, epoch) => changes.push(`${from}→${to}@${epoch}`));
      expect(s.ready).toBe(false);
      s.follow();
      s.grantVote(1, 3);
      s.beginPromotion(1);
      expect(s.leading).toBe(true);
      s.becomeLeader(1);
      s.stepDown();
      expect(changes).toEqual(['recovering→follower@0', 'follower→promoting@1', 'promoting→leader@1', 'leader→recovering@1']);
      expect(s.leading).toBe(false);
    });

    it('refuses to promote to an epoch not granted to it, while recovering, or to an epoch it already leads', () => {
      const s = fresh();
      s.grantVote(1, 3);
      expect(() => s.beginPromotion(1)).toThrow(/while recovering/);
      s.follow();
      expect(() => s.beginPromotion(2)).toThrow(IllegalTransition);
      s.grantVote(2, 1);
      expect(() => s.beginPromotion(2)).toThrow(/granted to replica 1/);
      const l = leading(3);
      expect(() => l.beginPromotion(3)).toThrow(/already leader in epoch 3/);
    });

    it('never begins an epoch twice: a step-down keeps the epoch it led, and so does a restart (its persisted `led_epoch`)', () => {
      const s = fresh();
      s.follow();
      s.grantVote(2, 3);
      expect(s.decidePromotion(2)).toBe('apply');
      s.beginPromotion(2);
      expect(s.decidePromotion(2)).toBe('known');
      // Its own write failed, say: it steps down, recovers, and follows with its vote for itself.
      s.stepDown();
      s.follow();
      expect({ epoch: s.epoch, leader: s.leader }).toEqual({ epoch: 2, leader: 3 });
      expect(s.decidePromotion(2)).toBe('refused');
      expect(() => s.beginPromotion(2)).toThrow(/cannot promote to epoch 2 again: it began to lead epoch 2 before/);
      s.grantVote(3, 3);
      expect(s.decidePromotion(3)).toBe('apply');
      s.beginPromotion(3);
      expect(s.leadsEpoch(3)).toBe(true);

      const restarted = new ReplicaState(3, { epoch: 4, votedFor: 3, leader: 3, commitNo: 0, ledEpoch: 4 });
      restarted.follow();
      expect(restarted.decidePromotion(4)).toBe('refused');
      expect(() => restarted.beginPromotion(4)).toThrow(/again/);
    });

    it('decides a promotion without changing anything: refused while recovering, for an epoch not its own, or not the current one', () => {
      const s = fresh();
      s.grantVote(1, 3);
      expect(s.decidePromotion(1)).toBe('refused'); // recovering
      s.follow();
      expect(s.decidePromotion(2)).toBe('refused'); // not the current epoch
      s.grantVote(2, 1);
      expect(s.decidePromotion(2)).toBe('refused'); // granted to replica 1
      expect(s.role).toBe('follower');
    });

    it('starts again in a newer epoch granted to it while promoting or leading', () => {
      const l = leading(1);
      expect(l.leadsEpoch(1)).toBe(true);
      expect(l.leadsEpoch(2)).toBe(false);
      l.grantVote(2, 3);
      l.beginPromotion(2);
      expect(l.role).toBe('promoting');
      expect(() => l.becomeLeader(1)).toThrow(IllegalTransition);
      l.becomeLeader(2);
      expect(l.mayAppendAsLeader(2)).toBe(true);
      expect(l.mayAppendAsLeader(1)).toBe(false);
    });

    it('goes follower → recovering to verify its log again, only from follower, keeping its epoch, leader and commit point', () => {
      const changes: string[] = [];
      const s = new ReplicaState(3, { epoch: 2, votedFor: 1, leader: 1, commitNo: 7 }, (from, to, epoch) => changes.push(`${from}→${to}@${epoch}`));
      expect(() => s.reverify()).toThrow(/cannot reverify as recovering/);
      s.follow();
      s.reverify();
      expect(s.role).toBe('recovering');
      expect(s.ready).toBe(false);
      expect([s.epoch, s.leader, s.votedFor, s.commitNo]).toEqual([2, 1, 1, 7]);
      expect(changes).toEqual(['recovering→follower@2', 'follower→recovering@2']);
      expect(() => leading(3).reverify()).toThrow(/cannot reverify as leader/);
    });

    it('refuses to lead without promoting, to lead an epoch that has moved on, and to follow or step down from the wrong role', () => {
      const s = fresh();
      expect(() => s.becomeLeader(0)).toThrow(/cannot become leader as recovering/);
      expect(() => s.stepDown()).toThrow(/cannot step down as recovering/);
      s.follow();
      expect(() => s.follow()).toThrow(/cannot follow as follower/);
      expect(() => s.stepDown()).toThrow(IllegalTransition);
      s.grantVote(1, 3);
      s.beginPromotion(1);
      s.grantVote(2, 2); // deposed while promoting
      expect(() => s.becomeLeader(1)).toThrow(/current epoch 2/);
      expect(s.mayAppendAsLeader(1)).toBe(false);
      s.stepDown();
      expect(s.role).toBe('recovering');
    });
  });

  describe('commit and acknowledgement points', () => {
    it('the commit point only grows', () => {
      const s = fresh();
      s.advanceCommit(5);
      s.advanceCommit(3);
      expect(s.commitNo).toBe(5);
    });

    it('the acknowledgement point moves only while leading, only grows, and each promotion starts it again', () => {
      const s = fresh();
      expect(() => s.advanceAck(1)).toThrow(/cannot acknowledge order 1 as recovering/);
      const l = leading(1);
      l.advanceAck(4);
      l.advanceAck(2);
      expect(l.ackNo).toBe(4);
      l.grantVote(2, 3);
      l.beginPromotion(2);
      expect(l.ackNo).toBe(0);
      l.stepDown();
      expect(() => l.advanceAck(5)).toThrow(IllegalTransition);
    });
  });
});
