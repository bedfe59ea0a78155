/**
 * Node flags the launchers (`npm start`, the test and benchmark clusters) run every server app
 * with. `--max-semi-space-size=64` (MiB) gives V8's young generation room for a busy server's
 * per-request garbage: scavenges run several times less often, and each costs about the same,
 * since it copies only what survives. A cached lookup allocates enough that this was worth about
 * a quarter of the front end's throughput on the 2-core machine we measure on (README,
 * Performance). The flag only takes effect at process start (not through `v8.setFlagsFromString`),
 * so `nest start <app>` needs it as `NODE_OPTIONS=--max-semi-space-size=64`.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
