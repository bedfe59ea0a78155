export * from './cluster';
export * from './timers';
