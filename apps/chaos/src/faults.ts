/** What one default-mode step of the nemesis can do (aggressive mode adds two-down steps). */
export const FAULT_KINDS = [
  'kill-leader',
  'kill-follower',
  'pause-leader',
  'pause-follower',
  'crash-point',
  'kill-catalog',
  'pause-catalog',
  'pause-frontend',
  'kill-frontend',
  'lose-pushes',
  'partition',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Faults of the front ends: one paused, one killed (a run needs two or more front ends for these,
 * so that clients have another to go to), or the catalog's invalidation pushes to one lost for a
 * while (through a relay the harness holds; any number of front ends).
 */
export const FRONTEND_FAULT_KINDS: readonly FaultKind[] = ['pause-frontend', 'kill-frontend', 'lose-pushes'];

/** Faults of the catalog, a single process: SIGKILL and restart, or SIGSTOP and SIGCONT. */
export const CATALOG_FAULT_KINDS: readonly FaultKind[] = ['kill-catalog', 'pause-catalog'];

/**
 * The longest cache lease (`--lease-ms`) the catalog's faults run with. A restarted catalog holds
 * every lookup and trade until its predecessor's leases have ended (a lease and 200 ms after its
 * start), and the nemesis restarts it up to 2.5 s after the kill: with a lease of much more than
 * this, a lookup waits past the sessions' 10 s timeout (found by a review: a 10 s lease failed
 * the run), and with one past the front end's failover timeout trades get 503, as the README says.
 */
export const CATALOG_FAULTS_MAX_LEASE_MS = 3000;

/**
 * The kinds a run picks from unless told otherwise: every process fault of the replicas and of the
 * catalog (one process: clients ride out its restart or pause, lookups and trades alike, with any
 * number of front ends); partitions need root and are asked for.
 */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'partition' && !FRONTEND_FAULT_KINDS.includes(k));

/**
 * The kinds a run with `frontends` front ends picks from: those asked for (`all`: every kind this
 * layout can run), or by default every process fault (the replicas', the catalog's), the front ends' included when there are two
 * or more. `all` with one front end is the replicas' faults and partitions; with several it is
 * every kind. Partitions combine with every other kind and any number of front ends (each front
 * end on a namespace host of its own, the push relays on the lab's bridge); pausing or killing a
 * front end needs two, and the catalog's faults a lease of at most {@link CATALOG_FAULTS_MAX_LEASE_MS}
 * (left out of the default and `all` with a longer one). Throws with the reason when the kinds asked for cannot run together.
 */
export function faultKindsFor(asked: readonly FaultKind[] | 'all' | undefined, frontends: number, leaseMs = 1000): FaultKind[] {
  const several = frontends > 1;
  const catalogFaults = leaseMs <= CATALOG_FAULTS_MAX_LEASE_MS;
  const runnable = (k: FaultKind) => (several || !FRONTEND_FAULT_KINDS.includes(k)) && (catalogFaults || !CATALOG_FAULT_KINDS.includes(k));
  if (asked === undefined) return [...DEFAULT_FAULT_KINDS, ...FRONTEND_FAULT_KINDS].filter(runnable);
  if (asked === 'all') return FAULT_KINDS.filter(runnable);
  const needSeveral = asked.filter((k) => FRONTEND_FAULT_KINDS.includes(k) && k !== 'lose-pushes');
  if (!several && needSeveral.length) throw new Error(`${needSeveral.join(', ')} needs --frontends 2 or more: the clients of a faulted front end go to another`);
  const needShortLease = asked.filter((k) => CATALOG_FAULT_KINDS.includes(k));
  if (!catalogFaults && needShortLease.length) {
    throw new Error(`${needShortLease.join(', ')} needs --lease-ms ${CATALOG_FAULTS_MAX_LEASE_MS} or less: a restarted catalog holds lookups and trades until its predecessor's leases have ended, past the clients' timeouts`);
  }
  return [...asked];
}

/** Elections a fault may cause, per front end (a run here ends at about one epoch per leader-affecting fault). */
export const EPOCHS_PER_FAULT = 4;

/**
 * Each election hands out a new epoch, and a front end elects only when its leader stops answering
 * or leading: a fault's doing. Front ends that depose each other's leaders agree again once the
 * faults stop, so waiting for them to agree does not always see it: it shows as epochs far beyond
 * the faults. Says so when `epoch`, at the end of a run with `faults` faults and `frontends` front
 * ends, is above {@link EPOCHS_PER_FAULT} per fault and front end, plus one election per front end
 * with no fault at all (the first, and one spurious: a ping timed out on a busy host), plus one
 * (front ends without the rule that adopts a sitting leader reached epochs of 300-700 after 3-8
 * faults in 30 s, every check passing); `undefined` otherwise.
 */
export function electionStorm(epoch: number, faults: number, frontends: number): string | undefined {
  const budget = 1 + frontends + EPOCHS_PER_FAULT * frontends * faults;
  if (epoch <= budget) return undefined;
  return `epoch ${epoch} after ${faults} fault${faults === 1 ? '' : 's'}: more than ${EPOCHS_PER_FAULT} elections per fault and front end (at most ${budget}): front ends deposing each other's leaders`;
}
