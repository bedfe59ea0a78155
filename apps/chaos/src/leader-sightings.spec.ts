import { electionsLine, LeaderSightings } from './leader-sightings';

describe('chaos runner: LeaderSightings (the leader watcher polls every front end)', () => {
  it('counts the changes each front end goes through, so one seen by one front end only shows in the figure', () => {
    const s = new LeaderSightings(['frontend', 'frontend-2']);
    expect(s.see('frontend', 3, 1)).toBe('first');
    expect(s.see('frontend-2', 3, 1)).toBe('first');
    expect(s.see('frontend', 3, 1)).toBeNull();
    // The leader cut off from frontend-2 alone: it elects order-2 at epoch 2; frontend still names order-3.
    expect(s.see('frontend-2', 2, 2)).toBe('changed');
    expect(s.see('frontend', 3, 1)).toBeNull();
    // Watching the first front end only, that change went unseen: nothing here would have been counted.
    expect(s.figures()).toEqual({ observed: 1, byFrontend: { frontend: 0, 'frontend-2': 1 }, epochs: 2, finalEpoch: 2 });
    // frontend adopts it later: its own change, counted for it.
    expect(s.see('frontend', 2, 2)).toBe('changed');
    // A new epoch for the same leader is a change too.
    expect(s.see('frontend', 2, 3)).toBe('changed');
    expect(s.figures()).toEqual({ observed: 3, byFrontend: { frontend: 2, 'frontend-2': 1 }, epochs: 3, finalEpoch: 3 });
  });

  it('a front end never seen counts nothing, and with none the last epoch is unknown', () => {
    expect(new LeaderSightings(['frontend']).figures()).toEqual({ observed: 0, byFrontend: { frontend: 0 }, epochs: 0, finalEpoch: null });
    const s = new LeaderSightings(['frontend']);
    s.see('frontend', 1, null);
    expect(s.see('frontend', 1, null)).toBeNull();
    expect(s.figures().finalEpoch).toBeNull();
  });

  it('the summary says how the figure is counted', () => {
    expect(electionsLine({ observed: 3, byFrontend: { frontend: 2, 'frontend-2': 1 }, epochs: 3, finalEpoch: 3 })).toBe(
      "elections: 3 leader changes seen (each front end's /leader polled every 250 ms, changes of leader or epoch counted per front end and added up: frontend 2, frontend-2 1), 3 epochs seen, last epoch 3",
    );
    expect(electionsLine({ observed: 1, byFrontend: { frontend: 1 }, epochs: 2, finalEpoch: 2 })).toBe(
      "elections: 1 leader changes seen (each front end's /leader polled every 250 ms, changes of leader or epoch counted per front end and added up), 2 epochs seen, last epoch 2",
    );
    // A report saved before: one front end polled.
    expect(electionsLine({ observed: 4, epochs: 5, finalEpoch: null })).toBe('elections: 4 leader changes seen (polling /leader), 5 epochs seen, last epoch ?');
  });
});
