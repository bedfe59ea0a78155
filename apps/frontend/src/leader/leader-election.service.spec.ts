import { jest } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { FrontendEnv, ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { EpochStore, EpochWriteError } from './epoch.store';
import { LeaderElectionService, STATE_REFRESH_MS } from './leader-election.service';
import { ProbedState, ReplicasClient } from './replicas.client';
import { setTimeout as delay } from 'node:timers/promises';

/** Three replicas whose `/ping` answers the test sets; announcements are accepted by whoever is up, and their epochs recorded. */
function fakeReplicas() {
  const replicas: ReplicaAddress[] = [1, 2, 3].map((id) => ({ id, url: `http://127.0.0.1:${20000 + id}` }));
  const states = new Map<number, ProbedState>(replicas.map((r) => [r.id, 'ready']));
  const leading = new Map<number, number>(); // replica id → epoch it was named leader of
  const refuses = new Set<number>(); // replicas that refuse to be named leader
  const announced: number[] = []; // the epoch of every announcement accepted
  const client: Partial<ReplicasClient> = {
    replicas,
    probe: async (r) => states.get(r.id)!,
    ping: async (r) => states.get(r.id) === 'ready',
    status: async (r): Promise<ReplicaStatus | null> =>
      states.get(r.id) === 'down'
        ? null
        : {
            id: r.id,
            role: leading.has(r.id) ? 'leader' : 'follower',
            ready: states.get(r.id) === 'ready',
            epoch: leading.get(r.id) ?? 0,
            leader: null,
            last_no: 0,
            last_epoch: 0,
            commit_no: 0,
          },
    announce: async (r, leader, epoch) => {
      if (states.get(r.id) === 'down' || (r.id === leader && refuses.has(r.id))) return false;
      announced.push(epoch);
      if (r.id === leader) leading.set(r.id, epoch);
      return true;
    },
  };
  return { client: client as ReplicasClient, states, leading, refuses, announced };
}

function fakeEpochs(): EpochStore {
  let epoch = 0;
  return { next: (above: number) => (epoch = Math.max(epoch, above) + 1) } as Partial<EpochStore> as EpochStore;
}

function fakeConfig(graceMs = 0): ConfigService<FrontendEnv, true> {
  const values: Partial<FrontendEnv> = { ELECTION_GRACE_MS: graceMs, ELECTION_INTERVAL_MS: 5 };
  return { get: (key: keyof FrontendEnv) => values[key] } as unknown as ConfigService<FrontendEnv, true>;
}

/** A front end over fresh fake replicas that has held its first election (replica 3 leads epoch 1). */
async function elected() {
  const replicas = fakeReplicas();
  const election = new LeaderElectionService(replicas.client, fakeEpochs(), fakeConfig());
  await election.check();
  return { ...replicas, election };
}

describe('LeaderElectionService', () => {
  it('waits, in its first election, for every replica to be ready, so that the highest id leads', async () => {
    const { client, states } = fakeReplicas();
    states.set(3, 'not_ready');
    const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig(10_000));
    const first = election.check();
    await delay(30);
    expect(election.current).toBeNull();
    states.set(3, 'ready');
    await first;
    expect(election.current).toMatchObject({ id: 3, epoch: 1 });
  });

  it('elects without the missing replica once the grace period ends', async () => {
    const { client, states } = fakeReplicas();
    states.set(3, 'down');
    const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig(40));
    const started = Date.now();
    await election.check();
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    expect(election.current).toMatchObject({ id: 2, epoch: 1 });
  });

  it('starts the grace period only once a majority is ready: replicas that boot slower than it still count', async () => {
    const { client, states } = fakeReplicas();
    states.set(2, 'down');
    states.set(3, 'down');
    const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig(40));
    // Heartbeats well past ELECTION_GRACE_MS with only replica 1 up: nobody could lead yet, and nobody is elected.
    for (let i = 0; i < 10; i++) {
      await election.check();
      await delay(15);
    }
    expect(election.current).toBeNull();
    // Replica 3 comes up (a majority now); replica 2 does not within the grace that starts here.
    states.set(3, 'ready');
    const majorityAt = Date.now();
    await election.check();
    expect(Date.now() - majorityAt).toBeGreaterThanOrEqual(30);
    expect(election.current).toMatchObject({ id: 3, epoch: 1 });
  });

  it('answers a request at once, with no leader, while no majority has been ready (a fresh front end, two replicas down)', async () => {
    const { client, states, announced } = fakeReplicas();
    states.set(2, 'down');
    states.set(3, 'not_ready');
    const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig(60_000));
    // Without the early end, the first election waited for a majority for ever, and every request with it.
    const asked = await Promise.race([election.leaderForRequest(), delay(2000, undefined, { ref: false }).then(() => 'still waiting')]);
    expect(asked).toBeNull();
    expect(announced).toEqual([]);
    // A trade's 503 says why, as of these pings (it said "no order replica is alive" with replica 1 up).
    expect(election.noLeaderReason()).toBe('no leader: 1 of 3 order replicas is ready, and a majority (2) must be');
    // Once a majority is ready, the grace runs as before: the heartbeat waits for the last one, up to ELECTION_GRACE_MS.
    states.set(2, 'ready');
    const next = election.check();
    await delay(30);
    expect(election.current).toBeNull();
    states.set(3, 'ready');
    await next;
    expect(election.current).toMatchObject({ id: 3, epoch: 1 });
  });

  it('adopts a replica already leading at once, without waiting for the others', async () => {
    const { client, states } = fakeReplicas();
    const first = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
    await first.check();
    states.set(1, 'down');
    const restarted = new LeaderElectionService(client, fakeEpochs(), fakeConfig(60_000));
    await restarted.check();
    expect(restarted.current).toMatchObject({ id: 3, epoch: 1 });
    expect(restarted.history[0]).toMatchObject({ leader: 3, epoch: 1, reason: 'already leading' });
  });

  it('keeps the recent leader changes, newest first, with their reasons', async () => {
    const { states, election } = await elected();
    states.set(3, 'down');
    await election.check();
    states.set(2, 'down');
    states.set(1, 'down');
    await election.check();
    expect(election.history.map(({ leader, epoch }) => [leader, epoch])).toEqual([[null, null], [2, 2], [3, 1]]);
    expect(election.history[1].reason).toBe('leader 3 stopped answering');
    expect(Date.parse(election.history[0].at)).not.toBeNaN();
  });

  it('elects the highest-id ready replica and keeps it while it answers', async () => {
    const { client, states } = fakeReplicas();
    states.set(3, 'not_ready');
    const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
    await election.check();
    expect(election.current).toMatchObject({ id: 2, epoch: 1 });
    states.set(3, 'ready');
    await election.check();
    expect(election.current).toMatchObject({ id: 2, epoch: 1 }); // sticky
    states.set(2, 'down');
    await election.check();
    expect(election.current).toMatchObject({ id: 3, epoch: 2 });
  });

  it("refreshes the other replicas' states from the heartbeat, at most once per STATE_REFRESH_MS", async () => {
    // Time is the monotonic clock's (performance.now()); the wall clock is not looked at.
    const clock = jest.spyOn(performance, 'now').mockReturnValue(1_000_000);
    try {
      const { client, states } = fakeReplicas();
      const probe = jest.spyOn(client, 'probe');
      const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
      await election.check();
      const described = () => election.describe().map((r) => r.state);
      expect(described()).toEqual(['ready', 'ready', 'leader']);

      states.set(1, 'down');
      states.set(2, 'not_ready');
      probe.mockClear();
      clock.mockReturnValue(1_000_000 + STATE_REFRESH_MS);
      await election.check();
      expect(probe.mock.calls.map(([r]) => r.id)).toEqual([1, 2, 3]);
      expect(election.current).toMatchObject({ id: 3, epoch: 1 }); // no election for a follower
      expect(described()).toEqual(['down', 'not_ready', 'leader']);

      // Within the period only the leader is pinged.
      states.set(1, 'ready');
      states.set(2, 'ready');
      probe.mockClear();
      clock.mockReturnValue(1_000_000 + STATE_REFRESH_MS + STATE_REFRESH_MS / 2);
      await election.check();
      expect(probe.mock.calls.map(([r]) => r.id)).toEqual([3]);
      expect(described()).toEqual(['down', 'not_ready', 'leader']);

      // The wall clock set back a minute changes nothing: the next round still refreshes.
      const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() - 60_000);
      try {
        clock.mockReturnValue(1_000_000 + 2 * STATE_REFRESH_MS);
        await election.check();
        expect(described()).toEqual(['ready', 'ready', 'leader']);
      } finally {
        wall.mockRestore();
      }
    } finally {
      clock.mockRestore();
    }
  });

  it('follows the leader another front end elected once its own leader, deposed, answers as a follower (on a refresh round)', async () => {
    const clock = jest.spyOn(performance, 'now').mockReturnValue(1_000_000);
    try {
      const { client, leading, announced } = fakeReplicas();
      const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
      await election.check();
      expect(election.current).toMatchObject({ id: 3, epoch: 1 });
      // Another front end elected replica 2 in epoch 2; replica 3 stepped down and follows, ready.
      leading.delete(3);
      leading.set(2, 2);
      const count = announced.length;
      // Within the period only the leader's /ping is asked: it answers, and is kept.
      clock.mockReturnValue(1_000_000 + STATE_REFRESH_MS / 2);
      await election.check();
      expect(election.current).toMatchObject({ id: 3, epoch: 1 });
      // The refresh round asks its status too: replica 2 leads the newest epoch, and is adopted without a new epoch.
      clock.mockReturnValue(1_000_000 + STATE_REFRESH_MS);
      await election.check();
      expect(election.current).toMatchObject({ id: 2, epoch: 2 });
      expect(announced.length).toBe(count);
      expect(election.history[0].reason).toMatch(/^already leading \(leader 3 no longer leads epoch 1 \(follower in epoch 0\)\)$/);
    } finally {
      clock.mockRestore();
    }
  });

  it('reports the old leader as down once another is elected', async () => {
    const { states, election } = await elected();
    states.set(3, 'down');
    await election.check();
    expect(election.current).toMatchObject({ id: 2, epoch: 2 });
    expect(election.describe().map((r) => r.state)).toEqual(['ready', 'leader', 'down']);
  });

  describe('whenReplaced', () => {
    it('tells a listener once another leader is named, once, and not when the same one is kept or none is', async () => {
      const { states, election } = await elected();
      const seen = election.current!;
      const told: number[] = [];
      election.whenReplaced(seen, () => told.push(election.current!.id));
      await election.check(); // replica 3 still answers: kept
      expect(told).toEqual([]);
      states.set(1, 'down');
      states.set(2, 'down');
      states.set(3, 'down');
      await election.check(); // nobody ready: no leader named, nothing to go to
      expect(election.current).toBeNull();
      expect(told).toEqual([]);
      states.set(2, 'ready');
      await election.check();
      expect(election.current).toMatchObject({ id: 2, epoch: 2 });
      expect(told).toEqual([2]);
      states.set(2, 'down');
      states.set(1, 'ready');
      await election.check();
      expect(told).toEqual([2]); // told once only
    });

    it('tells a listener at once when another leader is already named, and never after it stopped listening', async () => {
      const { states, election } = await elected();
      const seen = election.current!;
      const stopped = jest.fn();
      election.whenReplaced(seen, stopped)();
      states.set(3, 'down');
      await election.check();
      expect(election.current).toMatchObject({ id: 2, epoch: 2 });
      expect(stopped).not.toHaveBeenCalled();
      const late = jest.fn();
      election.whenReplaced(seen, late);
      expect(late).toHaveBeenCalledTimes(1);
    });
  });

  describe('a leader or candidate without a majority', () => {
    it('replaces a leader whose /ping says it cannot reach a majority by the highest ready replica', async () => {
      const { states, election } = await elected();
      expect(election.current).toMatchObject({ id: 3, epoch: 1 });
      states.set(3, 'not_ready'); // 503 no_quorum, still leading epoch 1
      await election.check();
      expect(election.current).toMatchObject({ id: 2, epoch: 2 });
      // It answers, with 503: the status page said it "stopped answering".
      expect(election.history[0].reason).toBe('leader 3 answered not ready');
    });

    it('keeps such a leader when no other replica is ready: no new epoch, no gap without a leader', async () => {
      const { client, states, election } = await elected();
      const announce = jest.spyOn(client, 'announce');
      states.set(1, 'down');
      states.set(2, 'not_ready');
      states.set(3, 'not_ready');
      announce.mockClear();
      await election.check();
      expect(election.current).toMatchObject({ id: 3, epoch: 1 });
      expect(announce).not.toHaveBeenCalled();
      expect(election.leaderChanges).toBe(1);
    });

    it('proposes a candidate that stepped back (up, ready, not leading) last, so the next one gets its turn', async () => {
      const { states, leading, election } = await elected();
      states.set(3, 'down');
      await election.check();
      expect(election.current).toMatchObject({ id: 2, epoch: 2 });
      leading.delete(2); // 2 could not gather a majority for epoch 2 and stepped back
      await election.reportFailure(election.current!, 'replica 2 is not the leader of epoch 2');
      expect(election.current).toMatchObject({ id: 1, epoch: 3 });
    });

    it('still proposes a stepped-back candidate when it is the only one', async () => {
      const { states, leading, election } = await elected();
      states.set(3, 'down');
      states.set(1, 'down');
      await election.check();
      expect(election.current).toMatchObject({ id: 2, epoch: 2 });
      leading.delete(2);
      await election.reportFailure(election.current!, 'not leading');
      expect(election.current).toMatchObject({ id: 2, epoch: 3 });
    });

    it('skips a candidate that refuses the epoch and proposes the next in the same round', async () => {
      const { client, refuses } = fakeReplicas();
      refuses.add(3);
      const election = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
      await election.check();
      expect(election.current).toMatchObject({ id: 2 });
    });
  });

  describe('two front ends sharing the replicas', () => {
    /** Front ends `a` and `b` over the same fake replicas, each with its own epochs; `announce` spies on the announcements. */
    const twoFrontEnds = () => {
      const { client, states } = fakeReplicas();
      const announce = jest.spyOn(client, 'announce');
      const a = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
      const b = new LeaderElectionService(client, fakeEpochs(), fakeConfig());
      return { states, announce, a, b };
    };

    it('the second adopts the leader the first elected, without a new epoch', async () => {
      const { announce, a, b } = twoFrontEnds();
      await a.check();
      expect(a.current).toMatchObject({ id: 3, epoch: 1 });
      announce.mockClear();
      await b.check();
      expect(b.current).toMatchObject({ id: 3, epoch: 1 });
      expect(announce).not.toHaveBeenCalled();
    });

    it('after a failover by one, the other follows its leader instead of starting an epoch of its own', async () => {
      const { states, announce, a, b } = twoFrontEnds();
      await a.check();
      await b.check();
      states.set(3, 'down');
      await a.check();
      expect(a.current).toMatchObject({ id: 2, epoch: 2 });
      announce.mockClear();
      await b.check(); // b's leader (3) is down: it finds 2 leading epoch 2 and adopts it
      expect(b.current).toMatchObject({ id: 2, epoch: 2 });
      expect(announce).not.toHaveBeenCalled();
      // Even a failed request on b does not depose a leader that answers and leads the newest epoch.
      await b.reportFailure(b.current!, 'timeout');
      expect(b.current).toMatchObject({ id: 2, epoch: 2 });
      expect(announce).not.toHaveBeenCalled();
      await a.check();
      expect(a.current).toMatchObject({ id: 2, epoch: 2 });
    });

    it('starts a new epoch when the newest epoch\'s leader no longer answers', async () => {
      const { states, a, b } = twoFrontEnds();
      await a.check();
      await b.check();
      states.set(3, 'down');
      await b.check();
      expect(b.current).toMatchObject({ id: 2, epoch: 2 });
    });
  });
});

describe('LeaderElectionService when the epoch cannot be written', () => {
  it('elects nobody that round (no throw, nothing announced), and elects once the write succeeds again', async () => {
    const { client, announced } = fakeReplicas();
    let failing = true;
    let epoch = 0;
    const epochs = {
      next: (above: number) => {
        if (failing) throw new EpochWriteError('cannot record epoch 1 in /data/frontend-epoch.json: ENOSPC');
        return (epoch = Math.max(epoch, above) + 1);
      },
    } as Partial<EpochStore> as EpochStore;
    const election = new LeaderElectionService(client, epochs, fakeConfig());

    await expect(election.leaderForRequest()).resolves.toBeNull();
    await expect(election.check()).resolves.toBeUndefined();
    expect(election.current).toBeNull();
    expect(announced).toEqual([]);

    failing = false;
    await election.check();
    expect(election.current).toMatchObject({ id: 3, epoch: 1 });
  });

  it('lets any other error through', async () => {
    const { client } = fakeReplicas();
    const epochs = {
      next: () => {
        throw new TypeError('a bug');
      },
    } as Partial<EpochStore> as EpochStore;
    await expect(new LeaderElectionService(client, epochs, fakeConfig()).leaderForRequest()).rejects.toThrow('a bug');
  });
});
