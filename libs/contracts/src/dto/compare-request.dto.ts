import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Min } from 'class-validator';

/**
 * Body of a replica's `POST /replication/compare`: replica `from` found this replica's copy of
 * order `order_no` differing from its own while a third replica's copy sided with it (see
 * RecoveryService.compareWithEqualPeers). The receiver checks that claim against `from`'s copy
 * before it acts on it.
 */
export class CompareRequestDto {
  @ApiProperty({ type: 'integer', minimum: 1, description: 'the replica asking' }) @IsInt() @Min(1) from: number;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'the order whose copies differ' }) @IsInt() @Min(1) order_no: number;
}
