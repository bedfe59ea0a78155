import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Min } from 'class-validator';
import { REQUEST_ID_PATTERN } from '../limits';
import { PlaceOrderDto } from './place-order.dto';
import { DigitsToInt } from './transforms';

/** A trade as the front end forwards it: the client's order plus the request id that makes it exactly-once. */
export class ReplicaTradeItemDto extends PlaceOrderDto {
  @ApiProperty({ description: 'idempotency key, forwarded to the catalog as its request id' })
  @Matches(REQUEST_ID_PATTERN, { message: 'request_id is malformed' })
  @IsString({ message: 'request_id must be a string' })
  request_id: string;
}

/**
 * Query of a replica's `GET /trade` (seed form) plus what the front end adds: the request id
 * that makes the trade exactly-once, and the epoch of the leader it believes it is talking to.
 */
export class ReplicaTradeDto extends ReplicaTradeItemDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'leader epoch the front end elected this replica in' })
  @DigitsToInt()
  @Min(0, { message: 'epoch must be a non-negative integer' })
  @IsInt({ message: 'epoch must be a non-negative integer' })
  epoch: number;
}
