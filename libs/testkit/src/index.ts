export * from './fixtures';
export * from './http-client';
export * from './sqlite';
export * from './cluster';
export * from './timers';
export * from './netns';
export * from './across-hosts';
export * from './sched';
