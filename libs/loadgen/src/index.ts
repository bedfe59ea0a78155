/**
 * Load generation against the bazaar's public API, shared by the client and the bench: the HTTP
 * transport, a typed client, load sessions with their consistency read-back, the p sweep, latency
 * statistics, the seeded PRNG, and the plain-text tables their reports use.
 */
export * from './http/transport';
export * from './http/bazaar-client';
export * from './http/response-guards';
export * from './load/backoff';
export * from './load/consistency';
export * from './load/load-options';
export * from './load/load-result';
export * from './load/load-runner';
export * from './load/prng';
export * from './stats/latency-stats';
export * from './sweep/sweep-runner';
export * from './sweep/sweep-report';
export * from './report/table';
export * from './usage-error';
