import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CompareRequestDto,
  LeaderNoticeDto,
  MessageResponse,
  OrderLogPage,
  OrderRoutes,
  PageQueryDto,
  ReplicaStatus,
  SyncDto,
  SyncResponse,
} from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { MessageResponseDto, OrderLogPageDto, ReplicaStatusDto, SyncResponseDto } from '@app/contracts/dto/responses.dto';
import { Internal } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { OrderLogService } from '../orders/order-log.service';
import { RecoveryService } from '../recovery/recovery.service';
import { LeadershipService } from './leadership.service';
import { SyncService } from './sync.service';

@ApiTags('replication (internal)')
@Internal()
@Controller()
export class ReplicationController {
  constructor(
    private readonly sync: SyncService,
    private readonly leadership: LeadershipService,
    private readonly state: ClusterStateService,
    private readonly log: OrderLogService,
    private readonly recovery: RecoveryService,
  ) {}

  /** `POST /sync`: leader → follower replication and heartbeat. */
  @Post(OrderRoutes.sync)
  @HttpCode(200)
  @ApiOperation({ summary: 'Replicate orders from the leader to this follower (also the leader\'s heartbeat)' })
  @ApiOkResponse({ description: 'the follower\'s last order number once the batch is durable', type: SyncResponseDto })
  @ApiFailures('message', {
    400: `${Failure.invalid} (or a leader this replica does not know, or itself)`,
    401: Failure.token,
    413: Failure.tooLarge,
    415: Failure.unsupported,
    503: 'refused with a `code`: stale_epoch, or not_ready (recovering, or its log does not match the leader\'s yet)',
  })
  apply(@Body() dto: SyncDto): Promise<SyncResponse> {
    return this.sync.apply(dto);
  }

  /** `GET /leader?leader=<id>&epoch=<e>` → `{"message":"received leader id"}` (seed form). */
  @Get(OrderRoutes.leader)
  @ApiOperation({ summary: 'Learn the leader the front end elected, and its epoch (seed form)' })
  @ApiOkResponse({ description: '`received leader id`', type: MessageResponseDto })
  @ApiFailures('message', {
    400: 'a malformed leader or epoch, or a leader id that is not among the replicas this one knows (ORDER_REPLICAS)',
    401: Failure.token,
    503: 'refused with a `code`: stale_epoch, or not_ready (still recovering), or disk_failing (it cannot lead)',
  })
  async leader(@Query() dto: LeaderNoticeDto): Promise<MessageResponse> {
    await this.leadership.onLeaderNotice(dto.leader, dto.epoch);
    return { message: 'received leader id' };
  }

  /** This replica's role, epoch and log position; answered in every state. */
  @Get(OrderRoutes.status)
  @ApiOperation({ summary: 'This replica\'s role, epoch, leader and log position (answered in every state)' })
  @ApiOkResponse({ description: 'the replica\'s status', type: ReplicaStatusDto })
  status(): ReplicaStatus {
    return this.state.status();
  }

  /** `POST /replication/compare`: a peer found this replica's copy of an order differing from its own and a third's. */
  @Post(OrderRoutes.compare)
  @HttpCode(200)
  @ApiOperation({ summary: 'A peer found this replica\'s copy of an order differing from its own and a third replica\'s: check, and if so verify the whole log again' })
  @ApiOkResponse({ description: 'what this replica made of it: its copy matches, or it differs and the replica compares its whole log again', type: MessageResponseDto })
  @ApiFailures('error', { 400: `${Failure.invalid} (or \`from\` is not a peer)`, 401: Failure.token, 413: Failure.tooLarge, 415: Failure.unsupported })
  async compare(@Body() dto: CompareRequestDto): Promise<MessageResponse> {
    return { message: await this.recovery.compareOnRequest(dto.from, dto.order_no) };
  }

  /** A page of the log after `after`, for recovery and gap repair. */
  @Get(OrderRoutes.log)
  @ApiOperation({ summary: 'A page of the order log after an order number (recovery and gap repair)' })
  @ApiOkResponse({ description: 'the orders after `after`, at most `limit`, and the last order number', type: OrderLogPageDto })
  @ApiFailures('error', { 400: 'a malformed after or limit' })
  async page(@Query() q: PageQueryDto): Promise<OrderLogPage> {
    // The entry before the page in the same read (the file, then the leader's entries still being
    // written: see OrderLogService.page), so that it is the page's neighbour.
    const orders = await this.log.page(Math.max(0, q.after - 1), q.after > 0 ? q.limit + 1 : q.limit);
    const prev = q.after > 0 && orders[0]?.order_no === q.after ? orders.shift()! : null;
    return { orders, last_no: this.log.lastPosition().order_no, prev };
  }
}
