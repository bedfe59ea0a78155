import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { MAX_TRADE_QUANTITY, REQUEST_ID_PATTERN, STOCK_NAME_PATTERN, TRADE_TYPE_PATTERN } from '../limits';
import { DigitsToInt } from './transforms';

/** Body of the catalog's internal `POST /trade` (seed form plus an optional request id). */
export class CatalogTradeDto {
  @ApiProperty({ example: 'Stock1' })
  @IsString({ message: 'stock_name must be a string' })
  @Matches(STOCK_NAME_PATTERN, { message: 'stock_name is malformed' })
  stock_name: string;

  @ApiProperty({ example: 'buy', description: 'buy or sell, in any letter case; kept as sent' })
  @IsString({ message: 'type must be a string' })
  @Matches(TRADE_TYPE_PATTERN, { message: 'type must be buy or sell' })
  type: string;

  @ApiProperty({ example: 5 })
  @DigitsToInt()
  @IsInt({ message: 'quantity must be a positive integer' })
  @Min(1, { message: 'quantity must be a positive integer' })
  @Max(MAX_TRADE_QUANTITY, { message: `quantity must be at most ${MAX_TRADE_QUANTITY}` })
  quantity: number;

  @ApiPropertyOptional({ description: 'Idempotency key: a repeated id returns the first outcome without trading again' })
  @IsOptional()
  @IsString({ message: 'request_id must be a string' })
  @Matches(REQUEST_ID_PATTERN, { message: 'request_id is malformed' })
  request_id?: string;
}
