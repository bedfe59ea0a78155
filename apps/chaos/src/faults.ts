/** What one default-mode step of the nemesis can do (aggressive mode adds two-down steps). */
export const FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'crash-point', 'partition'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kinds a run picks from unless told otherwise: every process fault; partitions need root and are asked for. */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'partition');
