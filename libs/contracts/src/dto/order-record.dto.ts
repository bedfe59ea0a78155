import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { MAX_TRADE_QUANTITY, REQUEST_ID_PATTERN, STOCK_NAME_PATTERN, TRADE_TYPE_PATTERN } from '../limits';
import { ORDER_CHECKSUM_PATTERN } from '../checksum';

/** One entry of the replicated order log, as it travels between replicas. */
export class OrderRecordDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) @IsInt() @Min(1) order_no: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'epoch of the leader that wrote the entry' }) @IsInt() @Min(0) epoch: number;
  @ApiProperty() @IsString() @Matches(REQUEST_ID_PATTERN) request_id: string;
  @ApiProperty() @IsString() @Matches(STOCK_NAME_PATTERN) stock_name: string;
  @ApiProperty({ enum: ['buy', 'sell'], description: 'in the letter case the client sent' }) @IsString() @Matches(TRADE_TYPE_PATTERN) trade_type: string;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_TRADE_QUANTITY }) @IsInt() @Min(1) @Max(MAX_TRADE_QUANTITY) quantity: number;
  /**
   * The client's idempotency key when the order's request id was derived from it (a key reused
   * past its retention window, see OrderLogService); absent: the request id is the key.
   */
  @ApiPropertyOptional({ description: "the client's Idempotency-Key, when it differs from request_id (a key reused after its retention)" })
  @IsOptional() @IsString() @Matches(REQUEST_ID_PATTERN)
  idempotency_key?: string;
  /** When the leader appended the entry (ms epoch): the key's retention window starts here. Absent: unknown (taken as now). */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'when the leader appended the entry, ms since the epoch' })
  @IsOptional() @IsInt() @Min(0)
  created_at?: number;
  /**
   * The leader's checksum of the entry (see orderChecksum): checked on every write and every read
   * from disk. Absent: an entry written before checksums, checked only by comparing copies.
   */
  @ApiPropertyOptional({ pattern: ORDER_CHECKSUM_PATTERN.source, description: "the leader's checksum of the entry (all but its epoch): 16 hex digits of SHA-256; absent on entries written before checksums" })
  @IsOptional() @IsString() @Matches(ORDER_CHECKSUM_PATTERN)
  checksum?: string;
}
