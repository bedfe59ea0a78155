import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ClusterStateService } from '../cluster/cluster-state.service';

/** Up once the replica has finished recovering (it then holds everything it missed). */
@Injectable()
export class RecoveryHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly state: ClusterStateService,
  ) {}

  isRecovered(key: string) {
    const s = this.state.status();
    const indicator = this.indicators.check(key);
    const details = { role: s.role, epoch: s.epoch, leader: s.leader, last_no: s.last_no };
    return s.ready ? indicator.up(details) : indicator.down(details);
  }
}
