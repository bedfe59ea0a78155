import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches } from 'class-validator';
import { STOCK_NAME_PATTERN } from '../limits';

/** `?stock_name=S` on the front end's `/stocks` and `/rm`: required and well-formed (empty is not). */
export class StockQueryDto {
  @ApiProperty({ example: 'Stock1', pattern: STOCK_NAME_PATTERN.source })
  @Matches(STOCK_NAME_PATTERN, { message: 'stock_name is malformed' })
  @IsString({ message: 'stock_name must be a single string' })
  @IsDefined({ message: 'stock_name is required' })
  stock_name: string;
}

/**
 * `?stock_name=S` on the catalog's `/query` (internal): one stock, or — with no `stock_name` at
 * all — every stock. A name that is present must be well-formed (empty is not).
 */
export class StockLookupQueryDto {
  @ApiPropertyOptional({ example: 'Stock1', pattern: STOCK_NAME_PATTERN.source, description: 'leave it out to list every stock' })
  @IsOptional()
  @Matches(STOCK_NAME_PATTERN, { message: 'stock_name is malformed' })
  @IsString({ message: 'stock_name must be a single string' })
  stock_name?: string;
}
