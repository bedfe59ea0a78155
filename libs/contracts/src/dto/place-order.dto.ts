import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { MAX_TRADE_QUANTITY, STOCK_NAME_PATTERN, TRADE_TYPE_PATTERN } from '../limits';
import { DigitsToInt } from './transforms';

/** Body of the public `POST /orders`. */
export class PlaceOrderDto {
  @ApiProperty({ example: 'Stock1' })
  @Matches(STOCK_NAME_PATTERN, { message: 'stock_name is malformed' })
  @IsString({ message: 'stock_name must be a string' })
  stock_name: string;

  @ApiProperty({ enum: ['buy', 'sell'], example: 'buy', description: 'buy or sell, accepted in any letter case (`Buy`, `SELL`) and kept as sent' })
  @Matches(TRADE_TYPE_PATTERN, { message: 'trade_type must be buy or sell' })
  @IsString({ message: 'trade_type must be a string' })
  trade_type: string;

  @ApiProperty({ type: 'integer', example: 5, minimum: 1, maximum: MAX_TRADE_QUANTITY, description: 'a string of decimal digits is accepted too' })
  @DigitsToInt()
  @Max(MAX_TRADE_QUANTITY, { message: `quantity must be at most ${MAX_TRADE_QUANTITY}` })
  @Min(1, { message: 'quantity must be a positive integer' })
  @IsInt({ message: 'quantity must be a positive integer' })
  quantity: number;
}
