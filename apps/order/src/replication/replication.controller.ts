import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  LeaderNoticeDto,
  MessageResponse,
  OrderLogPage,
  OrderRoutes,
  PageQueryDto,
  ReplicaStatus,
  SyncDto,
  SyncResponse,
} from '@app/contracts';
import { Internal } from '@app/common';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { OrderLogService } from '../orders/order-log.service';
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
  ) {}

  /** `POST /sync`: leader → follower replication and heartbeat. */
  @Post(OrderRoutes.sync)
  @HttpCode(200)
  apply(@Body() dto: SyncDto): Promise<SyncResponse> {
    return this.sync.apply(dto);
  }

  /** `GET /leader?leader=<id>&epoch=<e>` → `{"message":"received leader id"}` (seed form). */
  @Get(OrderRoutes.leader)
  async leader(@Query() dto: LeaderNoticeDto): Promise<MessageResponse> {
    await this.leadership.onLeaderNotice(dto.leader, dto.epoch);
    return { message: 'received leader id' };
  }

  /** This replica's role, epoch and log position; answered in every state. */
  @Get(OrderRoutes.status)
  status(): ReplicaStatus {
    return this.state.status();
  }

  /** A page of the log after `after`, for recovery and gap repair. */
  @Get(OrderRoutes.log)
  async page(@Query() q: PageQueryDto): Promise<OrderLogPage> {
    return { orders: await this.log.page(q.after, q.limit), last_no: this.log.lastPosition().order_no };
  }
}
