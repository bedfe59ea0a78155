import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { DigitsToInt } from './transforms';

/** `?order_no=N` on the front end's `/orders` and a replica's `/query`. */
export class OrderQueryDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, example: 1 })
  @DigitsToInt()
  @Max(Number.MAX_SAFE_INTEGER, { message: 'order_no is too large' })
  @Min(1, { message: 'order_no must be a positive integer' })
  @IsInt({ message: 'order_no must be a positive integer' })
  order_no: number;
}
