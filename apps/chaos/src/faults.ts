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
 * or more. Partitions run with one front end and no front-end faults (the namespace layout has one
 * front-end host and no relays), and pausing or killing a front end needs two. Throws with the
 * reason when the kinds asked for cannot run together.
 */
export function faultKindsFor(asked: readonly FaultKind[] | 'all' | undefined, frontends: number): FaultKind[] {
  const several = frontends > 1;
  if (asked === undefined) return several ? [...DEFAULT_FAULT_KINDS, ...FRONTEND_FAULT_KINDS] : [...DEFAULT_FAULT_KINDS];
  if (asked === 'all') return FAULT_KINDS.filter((k) => (several ? k !== 'partition' : !FRONTEND_FAULT_KINDS.includes(k)));
  const frontendKinds = asked.filter((k) => FRONTEND_FAULT_KINDS.includes(k));
  if (asked.includes('partition') && several) throw new Error('partition runs with one front end (--frontends 1): the namespace layout has one front-end host');
  if (asked.includes('partition') && frontendKinds.length) throw new Error(`partition does not run with ${frontendKinds.join(', ')}: the namespace layout has no push relays`);
  const needSeveral = frontendKinds.filter((k) => k !== 'lose-pushes');
  if (!several && needSeveral.length) throw new Error(`${needSeveral.join(', ')} needs --frontends 2 or more: the clients of a faulted front end go to another`);
  return [...asked];
}
