import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FrontendRefusal, FrontendRoutes, LeaderResponse } from '@app/contracts';
import { ApiFailures } from '@app/contracts/dto/api-docs';
import { LeaderResponseDto } from '@app/contracts/dto/responses.dto';
import { Unavailable } from '@app/common';
import { LeaderElectionService } from './leader-election.service';

@ApiTags('leader')
@Controller()
export class LeaderController {
  constructor(private readonly election: LeaderElectionService) {}

  /**
   * `GET /leader` → `{"leader":<id>,"epoch","address","replicas":[…]}`; 503 with code `no_leader`
   * while none is elected, its message saying how many replicas are ready and how many must be.
   */
  @Get(FrontendRoutes.leader)
  @ApiOperation({ summary: 'The current order leader, its epoch, and every replica\'s state' })
  @ApiOkResponse({ description: 'the leader and the replicas as of the last heartbeat', type: LeaderResponseDto })
  @ApiFailures('error', { 503: 'no leader is elected (code `no_leader`): the message says how many replicas are ready, and how many must be' })
  async leader(): Promise<LeaderResponse> {
    const leader = this.election.current ?? (await this.election.leaderForRequest());
    if (!leader) throw new Unavailable(this.election.noLeaderReason(), FrontendRefusal.noLeader);
    return { leader: leader.id, epoch: leader.epoch, address: leader.url, replicas: this.election.describe() };
  }
}
