import { DynamicModule, Module } from '@nestjs/common';
import { CacheOptions, VersionedLruCache } from './versioned-lru-cache';

export interface CacheModuleAsyncOptions {
  imports?: DynamicModule['imports'];
  inject?: (string | symbol | Function)[];
  useFactory: (...args: never[]) => CacheOptions | Promise<CacheOptions>;
}

/** Provides one {@link VersionedLruCache} configured at start-up. */
@Module({})
export class LruCacheModule {
  static registerAsync(options: CacheModuleAsyncOptions): DynamicModule {
    return {
      module: LruCacheModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: VersionedLruCache,
          inject: options.inject ?? [],
          useFactory: async (...args: never[]) => new VersionedLruCache(await options.useFactory(...args)),
        },
      ],
      exports: [VersionedLruCache],
    };
  }
}
