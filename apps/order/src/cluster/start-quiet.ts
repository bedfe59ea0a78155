/**
 * For this long after a replica's process starts, what the start of its siblings explains is said
 * at info, not warn: the peers and the catalog of a cluster started all at once come up alongside
 * it (each takes seconds to load and check its file), so every new cluster would otherwise start
 * with a warning. Used for a new file's wait for its peers (RecoveryService) and a first
 * promotion that cannot finish yet (LeadershipService: the catalog not listening yet).
 */
export const START_QUIET_MS = 20_000;
