import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FrontendRoutes, LeaderResponse } from '@app/contracts';
import { ApiFailures } from '@app/contracts/dto/api-docs';
import { LeaderResponseDto } from '@app/contracts/dto/responses.dto';
import { Unavailable } from '@app/common';
import { LeaderElectionService } from './leader-election.service';

@ApiTags('leader')
@Controller()
export class LeaderController {
  constructor(private readonly election: LeaderElectionService) {}

  /** `GET /leader` → `{"leader":<id>,"epoch","address","replicas":[…]}`, 503 when no replica is alive. */
  @Get(FrontendRoutes.leader)
  @ApiOperation({ summary: 'The current order leader, its epoch, and every replica\'s state' })
  @ApiOkResponse({ description: 'the leader and the replicas as of the last heartbeat', type: LeaderResponseDto })
  @ApiFailures('error', { 503: 'no order replica is alive' })
  async leader(): Promise<LeaderResponse> {
    const leader = this.election.current ?? (await this.election.leaderForRequest());
    if (!leader) throw new Unavailable('no order replica is alive');
    return { leader: leader.id, epoch: leader.epoch, address: leader.url, replicas: this.election.describe() };
  }
}
