import { Module } from '@nestjs/common';
import { internalHttpModule } from '@app/common';
import { EpochStore } from './epoch.store';
import { LeaderController } from './leader.controller';
import { LeaderElectionService } from './leader-election.service';
import { LeaderHeartbeatScheduler } from './leader-heartbeat.scheduler';
import { ReplicasClient } from './replicas.client';

@Module({
  imports: [internalHttpModule()],
  controllers: [LeaderController],
  providers: [EpochStore, ReplicasClient, LeaderElectionService, LeaderHeartbeatScheduler],
  exports: [LeaderElectionService, ReplicasClient],
})
export class LeaderModule {}
