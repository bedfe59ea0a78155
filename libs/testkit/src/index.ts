export * from './cluster';
export * from './timers';
export * from './netns';
