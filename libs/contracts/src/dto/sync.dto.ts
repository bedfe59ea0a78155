import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, Min, ValidateNested } from 'class-validator';
import { MAX_PAGE_SIZE } from '../limits';
import { OrderRecordDto } from './order-record.dto';

/** Position of the entry just before a sync batch, checked by the follower (log matching). */
export class LogPositionDto {
  @ApiProperty() @IsInt() @Min(0) order_no: number;
  @ApiProperty() @IsInt() @Min(0) epoch: number;
}

/** Body of a replica's `POST /sync`: leader → follower replication and heartbeat. */
export class SyncDto {
  @ApiProperty() @IsInt() @Min(1) leader: number;
  @ApiProperty() @IsInt() @Min(1) epoch: number;
  @ApiProperty({ description: 'highest order number the cluster has made durable' }) @IsInt() @Min(0) commit_no: number;
  @ApiProperty({ description: 'catalog trade sequence reconciled into the log so far' }) @IsInt() @Min(0) reconciled_seq: number;
  @ApiPropertyOptional({ type: LogPositionDto }) @IsOptional() @ValidateNested() @Type(() => LogPositionDto) prev?: LogPositionDto;
  @ApiProperty({ type: [OrderRecordDto] })
  @Type(() => OrderRecordDto)
  @ValidateNested({ each: true })
  @ArrayMaxSize(MAX_PAGE_SIZE)
  @IsArray()
  orders: OrderRecordDto[];
}
