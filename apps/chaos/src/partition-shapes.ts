import type { PartitionScope } from '@app/verify';
import { frontendHost, HOST_OF, replicaHost } from './hosts';

/**
 * The partitions the nemesis makes, as pure functions of who leads and which front ends there
 * are: the host pairs to cut, and how the events (and so the partition figures) name them. The
 * nemesis picks a shape and its parameters at random ({@link Nemesis}); these say what each means.
 *
 * - `isolate`: one replica cut off from the other two (the front ends still reach it);
 * - `leader-from-frontends`: the leader cut off from every front end (with one front end, the
 *   shape of before: "leader from front end");
 * - `leader-from-one-frontend` (two or more front ends): the leader cut off from one front end
 *   only; the others still reach it, so the front ends disagree about the leader until the cut one's
 *   election deposes it and the others adopt the new one;
 * - `frontends-from-different-replicas` (two or more): front end A cut off from the leader and
 *   front end B from a follower, so that the other follower is the one replica both reach: they
 *   must settle on it instead of deposing each other's leaders in turn;
 * - `frontend-from-catalog` (one front end, or one of several): a front end cut off from the
 *   catalog, and the catalog's invalidation pushes to it lost too: its lease renewals and its
 *   lookups at the catalog fail, and the catalog's pushes to it do not arrive. Lost invalidations
 *   under a real cut: the catalog must wait out its lease before it acknowledges a trade of a stock
 *   it may cache, and it must stop serving its cache once its lease has run out. Its lookups may
 *   fail meanwhile (once its lease has run out they need the catalog); nothing else may: its trades
 *   go to the order leader, which reaches the catalog, and the other front ends reach everything
 *   (the partition's `scope`).
 */
export type PartitionShapeKind = 'isolate' | 'leader-from-frontends' | 'leader-from-one-frontend' | 'frontends-from-different-replicas' | 'frontend-from-catalog';

export interface PartitionShape {
  kind: PartitionShapeKind;
  /** The replica (or, cut from the catalog, the front end) the `partition` and `partition-over` events name. */
  target: number | string;
  /** Every replica one of whose links is cut (the nemesis counts them partitioned until the cluster settles). */
  replicas: number[];
  /** Host pairs to cut. */
  pairs: [string, string][];
  /** Short name, for the count of faults injected. */
  short: string;
  /** In words, for the `partition` event's detail (and the partition figures). */
  what: string;
  /** The replica every front end must name before the cut is healed (`frontends-from-different-replicas`). */
  mustSettleOn?: number;
  /**
   * Front ends whose push relay (with `lose-pushes` in the run, see push-relays.ts) loses the
   * catalog's pushes for the span too: the relays listen in the root namespace, which no cut
   * between two hosts touches. Without relays the catalog pushes to the front end's host straight,
   * and the cut pair stops them.
   */
  relays?: string[];
  /** The requests the partition may make fail, when not any (see PartitionScope); recorded on its `partition` event. */
  scope?: PartitionScope;
}

const name = (id: number) => `order-${id}`;

/** Replica `id` cut off from the other replicas. */
export function isolateReplica(id: number, leader: number, replicas: readonly number[]): PartitionShape {
  const short = `isolate ${id === leader ? 'leader' : 'follower'}`;
  const pairs = replicas.filter((other) => other !== id).map((other): [string, string] => [replicaHost(id), replicaHost(other)]);
  return { kind: 'isolate', target: id, replicas: [id], pairs, short, what: `${short} from the other replicas` };
}

/** The leader cut off from every front end (`frontends`: process names). */
export function leaderFromFrontends(leader: number, frontends: readonly string[]): PartitionShape {
  const pairs = frontends.map((fe): [string, string] => [replicaHost(leader), frontendHost(fe)]);
  const [short, what] = frontends.length === 1 ? ['leader from front end', 'cut leader from the front end'] : ['leader from every front end', `cut leader from every front end (${frontends.join(', ')})`];
  return { kind: 'leader-from-frontends', target: leader, replicas: [leader], pairs, short, what };
}

/** The leader cut off from front end `fe` only; the other `frontends` still reach it. */
export function leaderFromOneFrontend(leader: number, fe: string, frontends: readonly string[]): PartitionShape {
  const others = frontends.filter((f) => f !== fe);
  return {
    kind: 'leader-from-one-frontend',
    target: leader,
    replicas: [leader],
    pairs: [[replicaHost(leader), frontendHost(fe)]],
    short: 'leader from one front end',
    what: `cut leader from ${fe} only (${others.join(', ')} still reach${others.length === 1 ? 'es' : ''} it)`,
  };
}

/**
 * Front end `a` cut off from the leader and front end `b` from follower `cutFollower`: the third
 * replica is the one both reach, and the one every front end must name before the heal.
 */
export function frontendsFromDifferentReplicas(leader: number, [a, b]: readonly [string, string], cutFollower: number, replicas: readonly number[]): PartitionShape {
  const common = replicas.find((id) => id !== leader && id !== cutFollower);
  if (common === undefined || cutFollower === leader) throw new Error(`no replica both ${a} and ${b} reach with ${name(leader)} and ${name(cutFollower)} cut`);
  return {
    kind: 'frontends-from-different-replicas',
    target: leader,
    replicas: [leader, cutFollower],
    pairs: [
      [replicaHost(leader), frontendHost(a)],
      [replicaHost(cutFollower), frontendHost(b)],
    ],
    short: 'front ends from different replicas',
    what: `cut ${a} from leader ${name(leader)} and ${b} from follower ${name(cutFollower)}: both reach ${name(common)} only`,
    mustSettleOn: common,
  };
}

/**
 * Front end `fe` cut off from the catalog, its push relay too (see {@link PartitionShape.relays}):
 * its lease renewals and its lookups at the catalog fail, and the catalog's pushes to it are lost.
 * Only its lookups may fail (the scope); the other `frontends` still reach the catalog.
 */
export function frontendFromCatalog(fe: string, frontends: readonly string[]): PartitionShape {
  const others = frontends.filter((f) => f !== fe);
  return {
    kind: 'frontend-from-catalog',
    target: fe,
    replicas: [],
    pairs: [[HOST_OF.catalog, frontendHost(fe)]],
    relays: [fe],
    scope: { frontend: fe, kinds: ['read'] },
    short: frontends.length === 1 ? 'front end from catalog' : 'one front end from catalog',
    what: `cut ${fe} from the catalog, pushes to it lost too${others.length ? ` (${others.join(', ')} still reach${others.length === 1 ? 'es' : ''} the catalog)` : ''}`,
  };
}
