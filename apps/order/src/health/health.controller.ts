import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { OrderEnv, OrderRoutes, PingResponse, ReplicaRefusal, replicaPort } from '@app/contracts';
import { Unavailable } from '@app/common';
import { ApiFailures } from '@app/contracts/dto/api-docs';
import { HealthReportDto, PingResponseDto } from '@app/contracts/dto/responses.dto';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { DiskHealthService } from '../orders/disk-health.service';
import { LeadershipService } from '../replication/leadership.service';
import { RecoveryHealthIndicator } from './recovery.health';

@ApiTags('health')
@Controller()
export class HealthController {
  private readonly port: number;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly disk: DiskHealthService,
    private readonly recovery: RecoveryHealthIndicator,
    private readonly state: ClusterStateService,
    private readonly leadership: LeadershipService,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.port = replicaPort({
      ORDER_ID: state.id,
      ORDER_PORT: config.get('ORDER_PORT', { infer: true }),
      ORDER_REPLICAS: config.get('ORDER_REPLICAS', { infer: true }),
    });
  }

  /**
   * `GET /ping` → 200 `{"alive order server":<id>,"port":<port>}` when recovery has finished and
   * the disk takes writes. It never queries the database, so a slow commit cannot make a live
   * leader look dead. Not recovered yet: 503 `not ready: <why>` with the `not_ready` refusal code
   * (expected while it catches up: logged at debug). Its database cannot be written (a write
   * failed, or one has not finished for `DISK_STALL_MS`): 503 with `disk_failing`; a leader also
   * steps down.
   * Cut off from a majority of the replicas (a leader for FOLLOWER_TIMEOUT_MS, a follower
   * whose peers do not answer): 503 `not ready: … cannot reach a majority …` with `no_quorum`, so
   * that the front end elects a replica on the majority side instead.
   */
  @Get(OrderRoutes.ping)
  @ApiOperation({ summary: 'Readiness (seed form): up, database answering, recovery finished' })
  @ApiOkResponse({ description: 'this replica\'s id and port', type: PingResponseDto })
  @ApiFailures('error', { 503: 'not ready: recovering (not_ready), cut off from a majority of the replicas (no_quorum), or its database cannot be written (disk_failing)' })
  async ping(): Promise<PingResponse> {
    const diskProblem = this.disk.problem();
    if (diskProblem) throw new Unavailable(`not ready: ${diskProblem}`, ReplicaRefusal.diskFailing);
    const notReady = this.recovery.notReadyReason();
    if (notReady) throw new Unavailable(`not ready: ${notReady}`, ReplicaRefusal.notReady);
    const noQuorum = await this.leadership.quorumRefusal();
    if (noQuorum) throw new Unavailable(`not ready: ${noQuorum}`, ReplicaRefusal.noQuorum);
    return { 'alive order server': this.state.id, port: this.port };
  }

  /**
   * Liveness: 200 while the process answers, also while the replica recovers or its disk fails
   * (the report says how far it is and how its disk is); like `/ping`, it never waits for the
   * database, so a slow disk does not get a live replica restarted.
   */
  @Get(OrderRoutes.health)
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: terminus\'s report of the disk and the recovery state' })
  @ApiOkResponse({ description: 'terminus\'s report', type: HealthReportDto })
  report() {
    return this.health.check([() => this.indicators.check('disk').up(this.disk.describe()), () => this.recovery.report('recovery')]);
  }
}
