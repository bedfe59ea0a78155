import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { MAX_TRADE_QUANTITY, REQUEST_ID_PATTERN, STOCK_NAME_PATTERN, TRADE_TYPE_PATTERN } from '../limits';
import { DigitsToInt } from './transforms';

/** Body of the catalog's internal `POST /trade` (seed form plus an optional request id). */
export class CatalogTradeDto {
  @ApiProperty({ example: 'Stock1' })
  @Matches(STOCK_NAME_PATTERN, { message: 'stock_name is malformed' })
  @IsString({ message: 'stock_name must be a string' })
  stock_name: string;

  @ApiProperty({ enum: ['buy', 'sell'], example: 'buy', description: 'buy or sell, accepted in any letter case and kept as sent' })
  @Matches(TRADE_TYPE_PATTERN, { message: 'type must be buy or sell' })
  @IsString({ message: 'type must be a string' })
  type: string;

  @ApiProperty({ type: 'integer', example: 5, minimum: 1, maximum: MAX_TRADE_QUANTITY })
  @DigitsToInt()
  @Max(MAX_TRADE_QUANTITY, { message: `quantity must be at most ${MAX_TRADE_QUANTITY}` })
  @Min(1, { message: 'quantity must be a positive integer' })
  @IsInt({ message: 'quantity must be a positive integer' })
  quantity: number;

  @ApiPropertyOptional({ description: 'Idempotency key: a repeated id returns the first outcome without trading again' })
  @IsOptional()
  @Matches(REQUEST_ID_PATTERN, { message: 'request_id is malformed' })
  @IsString({ message: 'request_id must be a string' })
  request_id?: string;
}
