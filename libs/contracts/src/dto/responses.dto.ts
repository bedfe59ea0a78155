import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { MAX_TRADE_QUANTITY } from '../limits';
import { IdempotencyRefusal } from '../idempotency';
import { FrontendRefusal, REPLICA_ROLES, ReplicaRefusal, TradeRefusalReason } from '../responses';
import { OrderRecordDto } from './order-record.dto';

/**
 * Swagger schemas of the answers (the interfaces in `responses.ts` are the types the code uses;
 * these classes only describe them to OpenAPI, field for field).
 */

const REFUSAL_CODES = [...Object.values(ReplicaRefusal), ...Object.values(FrontendRefusal), ...Object.values(IdempotencyRefusal)];
const REFUSAL_REASONS = Object.values(TradeRefusalReason);

export class StockInfoDto {
  @ApiProperty({ example: 'Stock1' }) stock_name: string;
  @ApiProperty({ example: 9.99 }) price: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 0, description: 'shares bought plus shares sold' }) trade_volume: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 100, description: 'shares the catalog holds (at most its capacity)' })
  quantity: number;
}

export class StockListResponseDto {
  @ApiProperty({ type: [StockInfoDto], description: 'every stock, sorted by name' }) data: StockInfoDto[];
}

export class CatalogQueryResponseDto {
  @ApiProperty({ type: StockInfoDto }) data: StockInfoDto;
}

export class ErrorDetailDto {
  @ApiProperty({ type: 'integer', example: 404, description: 'the HTTP status' }) code: number;
  @ApiProperty({ example: 'Stock not found' }) message: string;
}

/** `{"error":{"code","message"}}`: lookups' failure shape, and the default. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorDetailDto }) error: ErrorDetailDto;
  @ApiPropertyOptional({ enum: REFUSAL_CODES, description: "a machine-readable refusal: a replica's (503), or `key_reused` (422)" }) code?: string;
}

/** `{"order_no":-1,"message"}`: placing an order. */
export class OrderFailedResponseDto {
  @ApiProperty({ type: 'integer', enum: [-1], example: -1 }) order_no: number;
  @ApiProperty({ example: 'Trade failed!' }) message: string;
  @ApiPropertyOptional({ enum: REFUSAL_REASONS, description: 'why a trade was refused (409 only)' }) reason?: string;
  @ApiPropertyOptional({ enum: REFUSAL_CODES, description: "a machine-readable refusal: a replica's (503), or `key_reused` (422)" }) code?: string;
}

/** `{"message"}`: the catalog's `/trade`, a replica's `/sync` and `/leader`. */
export class MessageFailureDto {
  @ApiProperty({ example: 'Trade failed!' }) message: string;
  @ApiPropertyOptional({ enum: REFUSAL_REASONS, description: 'why a trade was refused (409 only)' }) reason?: string;
  @ApiPropertyOptional({ enum: REFUSAL_CODES, description: "a machine-readable refusal: a replica's (503), or `key_reused` (422)" }) code?: string;
}

export class MessageResponseDto {
  @ApiProperty({ example: 'order had been trade successfully!' }) message: string;
}

export class OrderPlacedResponseDto {
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) order_no: number;
}

export class OrderInfoDto {
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) order_no: number;
  @ApiProperty({ example: 'Stock1' }) stock_name: string;
  @ApiProperty({ enum: ['buy', 'sell'], example: 'buy', description: 'buy or sell, in the letter case the client sent' }) trade_type: string;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_TRADE_QUANTITY, example: 5 }) quantity: number;
}

export class OrderQueryResponseDto {
  @ApiProperty({ type: OrderInfoDto }) data: OrderInfoDto;
}

export class ReplicaStateDto {
  @ApiProperty({ type: 'integer', example: 3 }) id: number;
  @ApiProperty({ example: 'http://127.0.0.1:20003' }) address: string;
  @ApiProperty({ enum: ['leader', 'ready', 'not_ready', 'down'], description: 'as of the last heartbeat' }) state: string;
}

export class LeaderResponseDto {
  @ApiProperty({ type: 'integer', example: 3 }) leader: number;
  @ApiProperty({ type: 'integer', example: 1 }) epoch: number;
  @ApiProperty({ example: 'http://127.0.0.1:20003' }) address: string;
  @ApiProperty({ type: [ReplicaStateDto] }) replicas: ReplicaStateDto[];
}

export class CacheStatsDto {
  @ApiProperty() enabled: boolean;
  @ApiProperty({ type: 'integer' }) capacity: number;
  @ApiProperty({ type: 'integer' }) size: number;
  @ApiProperty({ type: 'integer' }) hits: number;
  @ApiProperty({ type: 'integer' }) misses: number;
  @ApiProperty({ type: 'integer' }) evictions: number;
  @ApiProperty({ type: 'integer' }) invalidations: number;
  @ApiProperty({ type: 'integer', description: 'loads dropped because an invalidation overtook them' }) stale_fills_dropped: number;
  @ApiProperty({ type: 'integer', description: "entries stored from a trade's answer (its stock as committed) rather than by a lookup" }) offers_taken: number;
}

export class InvalidatedDto {
  @ApiProperty({ example: 'Stock1' }) stock_name: string;
  @ApiProperty({ enum: ['removed successfully'] }) message: string;
}

export class NotCachedDto {
  @ApiProperty({ enum: ["this stock isn't exist in cache"] }) message: string;
}

/** Schema of the front end's `GET /rm` answer: one of the seed's two texts. */
export const INVALIDATE_RESPONSE_SCHEMA = { oneOf: [{ $ref: getSchemaPath(InvalidatedDto) }, { $ref: getSchemaPath(NotCachedDto) }] };

export class InvalidateBatchResponseDto {
  @ApiProperty({ type: [String], description: 'stocks that were cached and are dropped now' }) removed: string[];
  @ApiProperty({ type: [String], description: 'stocks that were not cached, or whose cached entry already reaches the volume given (kept); their version is bumped all the same' }) not_cached: string[];
}

export class BatchItemResultDto {
  @ApiProperty({ type: 'integer', example: 200, description: 'the status the single-trade endpoint would have answered' }) status: number;
  @ApiPropertyOptional({ example: 'Trade failed!' }) message?: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: "a replica's order number (200)" }) order_no?: number;
  @ApiPropertyOptional({ enum: REFUSAL_REASONS, description: 'why a trade was refused (409)' }) reason?: string;
  @ApiPropertyOptional({ enum: REFUSAL_CODES, description: "a machine-readable refusal: a replica's (503), or `key_reused` (422)" }) code?: string;
  @ApiPropertyOptional({ type: StockInfoDto, description: "a successful trade's stock as the catalog committed it, at the trade or later (200; the catalog's answer, passed on by the leader)" }) stock?: StockInfoDto;
}

export class TradeBatchResponseDto {
  @ApiProperty({ type: [BatchItemResultDto], description: 'one result per trade, in order' }) results: BatchItemResultDto[];
}

export class CatalogTradeRecordDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) seq: number;
  @ApiProperty() request_id: string;
  @ApiProperty({ example: 'Stock1' }) stock_name: string;
  @ApiProperty({ enum: ['buy', 'sell'], description: 'in the letter case the client sent' }) type: string;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_TRADE_QUANTITY }) quantity: number;
}

export class CatalogTradesPageDto {
  @ApiProperty({ type: [CatalogTradeRecordDto] }) trades: CatalogTradeRecordDto[];
}

export class PingResponseDto {
  @ApiProperty({ name: 'alive order server', type: 'integer', example: 1 }) 'alive order server': number;
  @ApiProperty({ type: 'integer', example: 20001 }) port: number;
}

export class ReplicaStatusDto {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ enum: REPLICA_ROLES }) role: string;
  @ApiProperty() ready: boolean;
  @ApiProperty({ type: 'integer' }) epoch: number;
  @ApiProperty({ type: 'integer', nullable: true }) leader: number | null;
  @ApiProperty({ type: 'integer' }) last_no: number;
  @ApiProperty({ type: 'integer' }) last_epoch: number;
  @ApiProperty({ type: 'integer' }) commit_no: number;
  @ApiPropertyOptional({ enum: [true], description: 'present while its own log may be damaged (a recovering peer does not catch up from it)' }) log_suspect?: true;
  @ApiPropertyOptional({
    type: 'integer',
    description: 'the last number through which every entry of its file carries its checksum, checked at its start or on the way in (a restarting peer compares logs only after it); 0 until that check ran',
  })
  vouched_through?: number;
  @ApiPropertyOptional({ enum: [true], description: 'present until its check at start of every entry against its checksum is over (`vouched_through` is 0 meanwhile); a restarting peer waits a little for it before comparing logs' })
  checking_log?: true;
}

export class OrderLogPageDto {
  @ApiProperty({ type: [OrderRecordDto] }) orders: OrderRecordDto[];
  @ApiProperty({ type: 'integer', description: 'number of the last order in the log' }) last_no: number;
  @ApiPropertyOptional({ type: OrderRecordDto, nullable: true, description: 'the entry numbered `after`, read with the page (null when `after` is 0 or beyond the log)' })
  prev?: OrderRecordDto | null;
}

export class SyncResponseDto {
  @ApiProperty({ type: 'integer', description: "the follower's last order number" }) last_no: number;
}

/** One check of a terminus report. */
const HEALTH_CHECKS = {
  type: 'object' as const,
  description: 'by check name (`database`, `recovery`)',
  additionalProperties: {
    type: 'object' as const,
    properties: { status: { type: 'string' as const, enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** `@nestjs/terminus`'s report (`GET /health`, and a replica's `GET /ping` when it is not ready). */
export class HealthReportDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] }) status: string;
  @ApiPropertyOptional(HEALTH_CHECKS) info?: Record<string, unknown>;
  @ApiPropertyOptional(HEALTH_CHECKS) error?: Record<string, unknown>;
  @ApiProperty(HEALTH_CHECKS) details: Record<string, unknown>;
}
