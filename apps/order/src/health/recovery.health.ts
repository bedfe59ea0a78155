import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { RecoveryService } from '../recovery/recovery.service';

/** The replica's recovery, for `/ping` (ready or why not) and `/health` (always up, with details). */
@Injectable()
export class RecoveryHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly state: ClusterStateService,
    private readonly recovery: RecoveryService,
  ) {}

  /** Always up, with the recovery state as details: liveness (`/health`) must not fail while a replica catches up. */
  report(key: string) {
    return this.indicators.check(key).up(this.describe().details);
  }

  /** Why this replica is not ready (recovering, or its peers refuse its token); undefined when ready. */
  notReadyReason(): string | undefined {
    const s = this.state.status();
    if (s.ready) return undefined;
    return this.recovery.blockedBy ?? `recovering (${s.role}, log at order ${s.last_no})`;
  }

  private describe() {
    const s = this.state.status();
    const blocked = this.recovery.blockedBy;
    const details = { role: s.role, epoch: s.epoch, leader: s.leader, last_no: s.last_no, ...(blocked ? { reason: blocked } : {}) };
    return { ready: s.ready, details: { ready: s.ready, ...details } };
  }
}
