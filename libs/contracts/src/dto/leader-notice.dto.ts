import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Min } from 'class-validator';
import { DigitsToInt } from './transforms';

/** `GET /leader?leader=<id>&epoch=<e>` on a replica: the front end announces an election result. */
export class LeaderNoticeDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) @DigitsToInt() @Min(1) @IsInt() leader: number;
  @ApiProperty({ type: 'integer', minimum: 1 }) @DigitsToInt() @Min(1) @IsInt() epoch: number;
}
