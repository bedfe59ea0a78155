/**
 * Consistency checks shared by the chaos run, the client's read-back and the e2e suites: each one a
 * small object with an id, a title and a pure function to a bounded verdict.
 */
export * from './check';
export * from './rows';
export * from './log-checks';
export * from './history';
export * from './history-checks';
