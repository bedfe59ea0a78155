import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { STOCK_NAME_PATTERN } from '../limits';

/** `?stock_name=S` on the front end's `/stocks` and the catalog's `/query`. */
export class StockQueryDto {
  @ApiProperty({ example: 'Stock1' })
  @Matches(STOCK_NAME_PATTERN, { message: 'stock_name is malformed' })
  @IsString({ message: 'stock_name must be a single string' })
  stock_name: string;
}
