import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, Min, ValidateNested } from 'class-validator';
import { MAX_PAGE_SIZE } from '../limits';
import { OrderRecordDto } from './order-record.dto';

/** Position of the entry just before a sync batch, checked by the follower (log matching). */
export class LogPositionDto {
  @ApiProperty({ type: 'integer', minimum: 0 }) @Min(0) @IsInt() order_no: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) @Min(0) @IsInt() epoch: number;
}

/** Body of a replica's `POST /sync`: leader → follower replication and heartbeat. */
export class SyncDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) @Min(1) @IsInt() leader: number;
  @ApiProperty({ type: 'integer', minimum: 1 }) @Min(1) @IsInt() epoch: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'highest order number the cluster has made durable' }) @Min(0) @IsInt() commit_no: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'catalog trade sequence reconciled into the log so far' }) @Min(0) @IsInt() reconciled_seq: number;
  @ApiPropertyOptional({ type: LogPositionDto }) @IsOptional() @ValidateNested() @Type(() => LogPositionDto) prev?: LogPositionDto;
  @ApiProperty({ type: [OrderRecordDto], maxItems: MAX_PAGE_SIZE })
  @Type(() => OrderRecordDto)
  @ValidateNested({ each: true })
  @ArrayMaxSize(MAX_PAGE_SIZE)
  @IsArray()
  orders: OrderRecordDto[];
}
