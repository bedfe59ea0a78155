export * from './cluster';
export * from './timers';
export * from './netns';
export * from './across-hosts';
