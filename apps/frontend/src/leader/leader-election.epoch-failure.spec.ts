import { ConfigService } from '@nestjs/config';
import { FrontendEnv, ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { EpochStore, EpochWriteError } from './epoch.store';
import { LeaderElectionService } from './leader-election.service';
import { ReplicasClient } from './replicas.client';

/** Three ready replicas, none leading, that accept every announcement. */
function replicas(): { client: ReplicasClient; announced: number[] } {
  const list: ReplicaAddress[] = [1, 2, 3].map((id) => ({ id, url: `http://127.0.0.1:${20000 + id}` }));
  const announced: number[] = [];
  const leading = new Map<number, number>();
  const client: Partial<ReplicasClient> = {
    replicas: list,
    probe: async () => 'ready',
    ping: async () => true,
    status: async (r): Promise<ReplicaStatus | null> => ({
      id: r.id,
      role: leading.has(r.id) ? 'leader' : 'follower',
      ready: true,
      epoch: leading.get(r.id) ?? 0,
      leader: null,
      last_no: 0,
      last_epoch: 0,
      commit_no: 0,
    }),
    announce: async (r, leader, epoch) => {
      announced.push(epoch);
      if (r.id === leader) leading.set(r.id, epoch);
      return true;
    },
  };
  return { client: client as ReplicasClient, announced };
}

const config = { get: (key: keyof FrontendEnv) => ({ ELECTION_GRACE_MS: 0, ELECTION_INTERVAL_MS: 5 })[key as string] } as unknown as ConfigService<
  FrontendEnv,
  true
>;

describe('LeaderElectionService when the epoch cannot be written', () => {
  it('elects nobody that round (no throw, nothing announced), and elects once the write succeeds again', async () => {
    const { client, announced } = replicas();
    let failing = true;
    let epoch = 0;
    const epochs = {
      next: (above: number) => {
        if (failing) throw new EpochWriteError('cannot record epoch 1 in /data/frontend-epoch.json: ENOSPC');
        return (epoch = Math.max(epoch, above) + 1);
      },
    } as Partial<EpochStore> as EpochStore;
    const election = new LeaderElectionService(client, epochs, config);

    await expect(election.leaderForRequest()).resolves.toBeNull();
    await expect(election.check()).resolves.toBeUndefined();
    expect(election.current).toBeNull();
    expect(announced).toEqual([]);

    failing = false;
    await election.check();
    expect(election.current).toMatchObject({ id: 3, epoch: 1 });
  });

  it('lets any other error through', async () => {
    const { client } = replicas();
    const epochs = {
      next: () => {
        throw new TypeError('a bug');
      },
    } as Partial<EpochStore> as EpochStore;
    await expect(new LeaderElectionService(client, epochs, config).leaderForRequest()).rejects.toThrow('a bug');
  });
});
