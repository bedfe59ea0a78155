import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { MAX_TRADE_QUANTITY, REQUEST_ID_PATTERN, STOCK_NAME_PATTERN, TRADE_TYPE_PATTERN } from '../limits';

/** One entry of the replicated order log, as it travels between replicas. */
export class OrderRecordDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) @IsInt() @Min(1) order_no: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'epoch of the leader that wrote the entry' }) @IsInt() @Min(0) epoch: number;
  @ApiProperty() @IsString() @Matches(REQUEST_ID_PATTERN) request_id: string;
  @ApiProperty() @IsString() @Matches(STOCK_NAME_PATTERN) stock_name: string;
  @ApiProperty({ enum: ['buy', 'sell'], description: 'in the letter case the client sent' }) @IsString() @Matches(TRADE_TYPE_PATTERN) trade_type: string;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_TRADE_QUANTITY }) @IsInt() @Min(1) @Max(MAX_TRADE_QUANTITY) quantity: number;
}
