import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Small persisted facts of a replica: highest epoch seen, known leader, commit point, reconciled catalog sequence. */
@Entity('replica_meta')
export class ReplicaMeta {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  key: string;

  @Column('integer')
  value: number;
}
