import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { DigitsToInt } from './transforms';

/**
 * Body of the catalog's internal `POST /lease`: a front end asks for (or renews) its cache lease.
 * `catalog` and `applied` acknowledge the last grant it adopted, so that the catalog can stop
 * repeating the invalidations that grant carried.
 */
export class LeaseRequestDto {
  @ApiProperty({ example: 'http://127.0.0.1:30001', description: "the front end's id: its URL as listed in the catalog's FRONTEND_URLS" })
  @Matches(/^https?:\/\/[\x21-\x7E]+$/, { message: 'frontend must be an http(s) URL' })
  @MaxLength(2048, { message: 'frontend must be at most 2048 characters' })
  @IsString({ message: 'frontend must be an http(s) URL' })
  frontend: string;

  /**
   * This front-end process's id, made at its start. Two processes can name themselves alike (two
   * containers binding 0.0.0.0 both say `http://127.0.0.1:30001`): the lease is then held by one
   * process, not by a name, and the other gets none while it lasts. Optional: a front end that
   * sends none is known by its `frontend` alone.
   */
  @ApiPropertyOptional({ example: '6f1d2c3b-8e0a-4b7e-9c55-2d1f0e4a7b19', maxLength: 64, description: "this front-end process's id, made at its start: another process with the same `frontend` gets no lease while this one's lasts" })
  @IsOptional()
  @Matches(/^[\x21-\x7E]{1,64}$/, { message: 'instance must be 1–64 printable characters' })
  @IsString({ message: 'instance must be 1–64 printable characters' })
  instance?: string;

  @ApiPropertyOptional({ description: 'the `catalog` of the last grant the front end adopted' })
  @IsOptional()
  @Matches(/^[\x21-\x7E]{1,64}$/, { message: 'catalog must be the catalog id of a grant' })
  @IsString({ message: 'catalog must be the catalog id of a grant' })
  catalog?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'the `grant` number of the last grant the front end adopted' })
  @IsOptional()
  @DigitsToInt()
  @Min(0, { message: 'applied must be a non-negative integer' })
  @IsInt({ message: 'applied must be a non-negative integer' })
  applied?: number;
}

/** The catalog's answer to `POST /lease`. */
export interface LeaseGrant {
  /** How long the lease lasts, from when the front end sent its request (the catalog's setting is authoritative). */
  lease_ms: number;
  /** This catalog process's id: a front end whose last grant came from another one clears its whole cache. */
  catalog: string;
  /** This grant's number, per front end; the next request acknowledges it as `applied`. */
  grant: number;
  /**
   * The longest the catalog may hold a lookup or a trade while a push of its stock becomes safe
   * (its INVALIDATION_TIMEOUT_MS + CACHE_LEASE_MS + LEASE_MARGIN_MS): the front end waits for its
   * lookups at least this long. Absent from an older catalog's grants.
   */
  wait_ms?: number;
  /** Stocks whose push may not have reached this front end: invalidated before the lease is adopted. */
  invalidate: string[];
  /**
   * For each of `invalidate`, in order, the trade volume its change reaches (at least), as its
   * push named it: the front end keeps an entry that already reaches it and goes on taking
   * trades' answers of the stock no older than it. Sent only when every stock carried has one;
   * without it, each stock is dropped and its trades' answers wait for its next lookup.
   */
  trade_volumes?: number[];
}

export class LeaseGrantDto implements LeaseGrant {
  @ApiProperty({ type: 'integer', example: 1000 }) lease_ms: number;
  @ApiProperty({ example: '3f0c9a1e-…' }) catalog: string;
  @ApiProperty({ type: 'integer', example: 7 }) grant: number;
  @ApiPropertyOptional({ type: 'integer', example: 2200, description: 'the longest the catalog may hold a lookup or a trade while a push of its stock becomes safe' })
  wait_ms?: number;
  @ApiProperty({ type: [String], example: ['Stock3'] }) invalidate: string[];
  @ApiPropertyOptional({
    type: [Number],
    example: [12],
    description: "the trade volume each stock's change reaches, in the order of invalidate; only when every stock has one",
  })
  trade_volumes?: number[];
}
