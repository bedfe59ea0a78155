import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_PAGE_SIZE } from '../limits';
import { DigitsToInt } from './transforms';

/** `?after=N&limit=K`: a page of an ordered log (order log entries, catalog trades). */
export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional() @DigitsToInt() @IsInt() @Min(0)
  after = 0;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 500, maximum: MAX_PAGE_SIZE })
  @IsOptional() @DigitsToInt() @IsInt() @Min(1) @Max(MAX_PAGE_SIZE)
  limit = 500;
}
