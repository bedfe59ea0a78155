import { CreateCatalog1732500000000 } from './1732500000000-CreateCatalog';
import { TradeKeyRetention1760000000000 } from './1760000000000-TradeKeyRetention';
import { CatalogMeta1765000000000 } from './1765000000000-CatalogMeta';

/** Every catalog migration, in order (listed as classes so bundling never breaks a glob). */
export const CATALOG_MIGRATIONS = [CreateCatalog1732500000000, TradeKeyRetention1760000000000, CatalogMeta1765000000000];
