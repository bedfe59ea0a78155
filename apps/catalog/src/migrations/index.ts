import { CreateCatalog1732500000000 } from './1732500000000-CreateCatalog';

/** Every catalog migration, in order (listed as classes so bundling never breaks a glob). */
export const CATALOG_MIGRATIONS = [CreateCatalog1732500000000];
