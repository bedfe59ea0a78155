import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_PAGE_SIZE } from '../limits';
import { DigitsToInt } from './transforms';

/**
 * `?after=N&limit=K`: a page of an ordered log (order log entries, catalog trades). The decorator
 * nearest a property is checked first: `@IsInt()` there, so that `limit=abc` is said not to be an
 * integer rather than too large.
 */
export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional() @DigitsToInt() @Min(0) @IsInt()
  after = 0;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 500, maximum: MAX_PAGE_SIZE })
  @IsOptional() @DigitsToInt() @Max(MAX_PAGE_SIZE) @Min(1) @IsInt()
  limit = 500;
}
