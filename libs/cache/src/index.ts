export * from './lease-clock';
export * from './versioned-lru-cache';
export * from './cache.module';
