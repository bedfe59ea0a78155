/** What one default-mode step of the nemesis can do (aggressive mode adds two-down steps). */
export const FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'pause-frontend', 'kill-frontend', 'lose-pushes', 'partition'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Faults of the front ends: one paused, one killed (a run needs two or more front ends for these,
 * so that clients have another to go to), or the catalog's invalidation pushes to one lost for a
 * while (through a relay the harness holds; any number of front ends).
 */
export const FRONTEND_FAULT_KINDS: readonly FaultKind[] = ['pause-frontend', 'kill-frontend', 'lose-pushes'];

/** The kinds a run picks from unless told otherwise: every process fault of the replicas; partitions need root and are asked for. */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'partition' && !FRONTEND_FAULT_KINDS.includes(k));

/**
 * The kinds a run with `frontends` front ends picks from: those asked for (`all`: every kind this
 * layout can run), or by default every process fault, the front ends' included when there are two
 * or more. `all` with one front end is the replicas' faults and partitions; with several it is
 * every kind. Partitions combine with every other kind and any number of front ends (each front
 * end on a namespace host of its own, the push relays on the lab's bridge); pausing or killing a
 * front end needs two. Throws with the reason when the kinds asked for cannot run together.
 */
export function faultKindsFor(asked: readonly FaultKind[] | 'all' | undefined, frontends: number): FaultKind[] {
  const several = frontends > 1;
  if (asked === undefined) return several ? [...DEFAULT_FAULT_KINDS, ...FRONTEND_FAULT_KINDS] : [...DEFAULT_FAULT_KINDS];
  if (asked === 'all') return FAULT_KINDS.filter((k) => several || !FRONTEND_FAULT_KINDS.includes(k));
  const needSeveral = asked.filter((k) => FRONTEND_FAULT_KINDS.includes(k) && k !== 'lose-pushes');
  if (!several && needSeveral.length) throw new Error(`${needSeveral.join(', ')} needs --frontends 2 or more: the clients of a faulted front end go to another`);
  return [...asked];
}
