/**
 * Two modules class-transformer ships (`cjs/storage.js`, `cjs/constants/default-options.constant.js`,
 * typed in its `types/`) but does not declare under these paths; @nestjs/mapped-types reads the
 * storage the same way.
 */
declare module 'class-transformer/cjs/storage' {
  import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';
  export const defaultMetadataStorage: MetadataStorage;
}

declare module 'class-transformer/cjs/constants/default-options.constant' {
  import type { ClassTransformOptions } from 'class-transformer';
  /** The options class-transformer merges under the caller's for every transformation. */
  export const defaultOptions: Partial<ClassTransformOptions>;
}
