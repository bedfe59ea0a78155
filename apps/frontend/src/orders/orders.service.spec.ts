import { ReplicaRefusal } from '@app/contracts';
import { mayHaveTraded } from './orders.service';

describe('mayHaveTraded: which answers of the leader leave a trade uncertain', () => {
  it('a 500, a 503 without a code and a 503 from after trading may have gone through', () => {
    expect(mayHaveTraded(500)).toBe(true);
    expect(mayHaveTraded(502)).toBe(true);
    expect(mayHaveTraded(503)).toBe(true);
    expect(mayHaveTraded(503, ReplicaRefusal.notDurable)).toBe(true);
    expect(mayHaveTraded(503, ReplicaRefusal.catalogUnavailable)).toBe(true);
    expect(mayHaveTraded(503, ReplicaRefusal.notLeader)).toBe(true); // also given after the catalog traded
  });

  it('refusals at the door and client errors are definite', () => {
    expect(mayHaveTraded(503, ReplicaRefusal.staleEpoch)).toBe(false);
    expect(mayHaveTraded(503, ReplicaRefusal.notReady)).toBe(false);
    expect(mayHaveTraded(503, ReplicaRefusal.insufficientReplicas)).toBe(false);
    expect(mayHaveTraded(422)).toBe(false);
    expect(mayHaveTraded(401)).toBe(false);
  });
});
