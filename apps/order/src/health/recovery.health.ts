import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { RecoveryService } from '../recovery/recovery.service';

/** Up once the replica has finished recovering (it then holds everything it missed). */
@Injectable()
export class RecoveryHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly state: ClusterStateService,
    private readonly recovery: RecoveryService,
  ) {}

  /** Down until recovered: readiness (`/ping`). */
  isRecovered(key: string) {
    const indicator = this.indicators.check(key);
    const { ready, details } = this.describe();
    return ready ? indicator.up(details) : indicator.down(details);
  }

  /** Always up, with the recovery state as details: liveness (`/health`) must not fail while a replica catches up. */
  report(key: string) {
    return this.indicators.check(key).up(this.describe().details);
  }

  private describe() {
    const s = this.state.status();
    const blocked = this.recovery.blockedBy;
    const details = { role: s.role, epoch: s.epoch, leader: s.leader, last_no: s.last_no, ...(blocked ? { reason: blocked } : {}) };
    return { ready: s.ready, details: { ready: s.ready, ...details } };
  }
}
