import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { FrontendEnv } from '@app/contracts';
import { LeaderElectionService } from './leader-election.service';

/**
 * Decides *when*: pings the leader every `ELECTION_INTERVAL_MS` through the election service,
 * which decides *what* (keep it, or elect another).
 */
@Injectable()
export class LeaderHeartbeatScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(LeaderHeartbeatScheduler.name);

  constructor(
    private readonly election: LeaderElectionService,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: ConfigService<FrontendEnv, true>,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.get('ELECTION_INTERVAL_MS', { infer: true });
    const tick = () => void this.election.check().catch((e: Error) => this.logger.error(e.message));
    this.scheduler.addInterval('leader-heartbeat', setInterval(tick, every));
    tick();
  }
}
