import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Small persisted facts of the catalog, by key (see LeaseSpanStore). */
@Entity('catalog_meta')
export class CatalogMeta {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  key: string;

  @Column('integer')
  value: number;
}
