import { ReplicaState } from '../cluster/replica-state';
import { CommitTracker } from './commit-tracker';

function leader(): ReplicaState {
  const s = new ReplicaState(3, { epoch: 0, votedFor: null, leader: null, commitNo: 0 });
  s.follow();
  s.grantVote(1, 3);
  s.beginPromotion(1);
  s.becomeLeader(1);
  return s;
}

describe('CommitTracker', () => {
  it('commits what a majority holds (the leader and one follower of three), not what the leader alone holds', () => {
    const s = leader();
    const t = new CommitTracker(s, 2, 2, 1000);
    t.update(10, [0, 0]);
    expect(s.commitNo).toBe(0);
    t.update(10, [7, 3]);
    expect({ commit: s.commitNo, ack: s.ackNo }).toEqual({ commit: 7, ack: 7 });
    t.update(10, [2, 2]); // a follower's position reported late never lowers the points
    expect(s.commitNo).toBe(7);
  });

  it('answers each waiting trade once its order may be acknowledged, and only then', async () => {
    const s = leader();
    const t = new CommitTracker(s, 2, 2, 1000);
    const answered: number[] = [];
    const waits = [4, 6].map((n) => t.waitDurable(n).then(() => answered.push(n)));
    t.update(6, [5, 0]);
    await waits[0];
    expect(answered).toEqual([4]);
    t.update(6, [5, 6]);
    await Promise.all(waits);
    expect(answered).toEqual([4, 6]);
  });

  it('with ORDER_ACK_MODE=leader acknowledges what the leader holds but commits only what a majority holds', async () => {
    const s = leader();
    const t = new CommitTracker(s, 2, 1, 1000);
    t.update(5, [1, 0]);
    await expect(t.waitDurable(5)).resolves.toBeUndefined();
    expect({ commit: s.commitNo, ack: s.ackNo }).toEqual({ commit: 1, ack: 5 });
  });

  it('counts none of the entries a new leader inherited committed before a majority holds the first one stamped with its epoch (ownFrom), then all of them', async () => {
    const s = leader();
    // Inherited 3–5 above the commit point 2; 5 carries the new epoch's stamp.
    const t = new CommitTracker(s, 2, 2, 1000, 5);
    const answered: number[] = [];
    const wait = t.waitDurable(3).then(() => answered.push(3));
    t.update(5, [4, 0]); // a majority holds 3–4, still stamped with older epochs: not committed (Figure 8)
    await new Promise((r) => setImmediate(r));
    expect({ commit: s.commitNo, ack: s.ackNo, answered }).toEqual({ commit: 0, ack: 0, answered: [] });
    t.update(5, [5, 0]);
    await wait;
    expect({ commit: s.commitNo, ack: s.ackNo, answered }).toEqual({ commit: 5, ack: 5, answered: [3] });
  });

  it('refuses with 503 not_durable after the timeout, and refuses every waiter when leadership ends', async () => {
    const s = leader();
    const t = new CommitTracker(s, 2, 2, 20);
    await expect(t.waitDurable(1)).rejects.toMatchObject({ status: 503, code: 'not_durable' });
    const slow = new CommitTracker(s, 2, 2, 60_000);
    const waiting = slow.waitDurable(2);
    slow.rejectAll(new Error('stopped leading'));
    await expect(waiting).rejects.toThrow('stopped leading');
  });
});
