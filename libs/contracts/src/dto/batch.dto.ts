import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Matches, Min, ValidateNested } from 'class-validator';
import { MAX_TRADE_BATCH, STOCK_NAME_PATTERN } from '../limits';
import { CatalogTradeDto } from './catalog-trade.dto';
import { ReplicaTradeItemDto } from './replica-trade.dto';
import { DigitsToInt } from './transforms';

/** A `trades` list of an internal batch: 1 to MAX_TRADE_BATCH trades of `item`, each validated. */
function TradeList(item: new () => object): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ type: [item], minItems: 1, maxItems: MAX_TRADE_BATCH }),
    Type(() => item),
    ValidateNested({ each: true }),
    ArrayMaxSize(MAX_TRADE_BATCH, { message: `trades must hold at most ${MAX_TRADE_BATCH} trades` }),
    ArrayMinSize(1, { message: 'trades must not be empty' }),
    IsArray({ message: 'trades must be an array' }),
  );
}

/**
 * Body of the catalog's internal `POST /trade/batch`: trades decided one after another, in this
 * order, in one transaction; each gets the outcome `POST /trade` would have given it.
 */
export class CatalogTradeBatchDto {
  @TradeList(CatalogTradeDto)
  trades: CatalogTradeDto[];
}

/**
 * Body of a replica's internal `POST /trade/batch`: trades the front end forwards together to the
 * leader of `epoch`; each is handled exactly like a `GET /trade` of its own.
 */
export class ReplicaTradeBatchDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'leader epoch the front end elected this replica in' })
  @DigitsToInt()
  @Min(0, { message: 'epoch must be a non-negative integer' })
  @IsInt({ message: 'epoch must be a non-negative integer' })
  epoch: number;

  @TradeList(ReplicaTradeItemDto)
  trades: ReplicaTradeItemDto[];
}

/** Body of the front end's internal `POST /rm`: the catalog's invalidation of several stocks at once. */
export class InvalidateBatchDto {
  @ApiProperty({ type: [String], example: ['Stock1', 'Stock2'], minItems: 1, maxItems: MAX_TRADE_BATCH })
  @Matches(STOCK_NAME_PATTERN, { each: true, message: 'stock_names must hold well-formed stock names' })
  @IsString({ each: true, message: 'stock_names must hold strings' })
  @ArrayMaxSize(MAX_TRADE_BATCH, { message: `stock_names must hold at most ${MAX_TRADE_BATCH} names` })
  @ArrayMinSize(1, { message: 'stock_names must not be empty' })
  @IsArray({ message: 'stock_names must be an array' })
  stock_names: string[];
}
