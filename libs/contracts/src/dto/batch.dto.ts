import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { MAX_TRADE_BATCH, STOCK_NAME_PATTERN } from '../limits';
import { CatalogTradeDto } from './catalog-trade.dto';
import { ReplicaTradeItemDto } from './replica-trade.dto';
import { DigitsToInt } from './transforms';

/** An array as long as the array in the property its constraint names. */
@ValidatorConstraint({ name: 'sameLengthAs' })
class SameLengthAs implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const other = (args.object as Record<string, unknown>)[args.constraints[0] as string];
    return Array.isArray(value) && Array.isArray(other) && value.length === other.length;
  }
}

/** A `trades` list of an internal batch: 1 to MAX_TRADE_BATCH trades of `item`, each validated. */
function TradeList(item: new () => object): PropertyDecorator {
  // Applied in this order, and checked in it: an array first, so that `"trades":"x"` is said not to be one.
  return applyDecorators(
    IsArray({ message: 'trades must be an array' }),
    ArrayMinSize(1, { message: 'trades must not be empty' }),
    ArrayMaxSize(MAX_TRADE_BATCH, { message: `trades must hold at most ${MAX_TRADE_BATCH} trades` }),
    ValidateNested({ each: true }),
    Type(() => item),
    ApiProperty({ type: [item], minItems: 1, maxItems: MAX_TRADE_BATCH }),
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

  /**
   * For each of `stock_names`, in order, the trade volume its change reaches (at least): the
   * front end then takes a trade's answer for the stock only if it is no older. Optional: a push
   * without volumes makes the front end wait for its next lookup of the stocks instead.
   */
  @ApiPropertyOptional({ type: [Number], example: [12, 40], description: "the trade volume each stock's change reaches, in the order of stock_names" })
  @Validate(SameLengthAs, ['stock_names'], { message: 'trade_volumes must hold one volume per stock name' })
  @Max(Number.MAX_SAFE_INTEGER, { each: true, message: 'trade_volumes must hold non-negative safe integers' })
  @Min(0, { each: true, message: 'trade_volumes must hold non-negative safe integers' })
  @IsInt({ each: true, message: 'trade_volumes must hold non-negative safe integers' })
  @IsArray({ message: 'trade_volumes must be an array' })
  @IsOptional()
  trade_volumes?: number[];

  /**
   * The front end the push is meant for: the holder of the catalog's lease on the URL it is sent
   * to (its id, as in `POST /lease`). Another process answering at that URL refuses it (409), so
   * that the catalog does not count it delivered. Optional: a push without it is taken by anyone.
   */
  @ApiPropertyOptional({ example: 'http://127.0.0.1:30001', description: "the lease holder the push is meant for (its id in POST /lease); another front end answers 409" })
  @Matches(/^https?:\/\/[\x21-\x7E]+$/, { message: 'frontend must be an http(s) URL' })
  @MaxLength(2048, { message: 'frontend must be at most 2048 characters' })
  @IsString({ message: 'frontend must be an http(s) URL' })
  @IsOptional()
  frontend?: string;

  /** With `frontend`: the process holding that lease (its `instance` in `POST /lease`); another process with the same id answers 409. */
  @ApiPropertyOptional({ example: '6f1d2c3b-8e0a-4b7e-9c55-2d1f0e4a7b19', maxLength: 64, description: 'the front-end process the push is meant for (its instance in POST /lease); another process answers 409' })
  @Matches(/^[\x21-\x7E]{1,64}$/, { message: 'instance must be 1–64 printable characters' })
  @IsString({ message: 'instance must be 1–64 printable characters' })
  @IsOptional()
  instance?: string;
}
