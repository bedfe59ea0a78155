import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { OrderEnv, OrderRoutes, PingResponse, ReplicaRefusal, replicaPort } from '@app/contracts';
import { Unavailable } from '@app/common';
import { ApiFailures } from '@app/contracts/dto/api-docs';
import { HealthReportDto, PingResponseDto } from '@app/contracts/dto/responses.dto';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { LeadershipService } from '../replication/leadership.service';
import { RecoveryHealthIndicator } from './recovery.health';

@ApiTags('health')
@Controller()
export class HealthController {
  private readonly port: number;

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
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
   * `GET /ping` → 200 `{"alive order server":<id>,"port":<port>}` when the database answers and
   * recovery has finished. Not recovered yet: 503 `not ready: <why>` with the `not_ready` refusal
   * code (expected while it catches up: logged at debug); database down: terminus's 503 report.
   * Cut off from a majority of the replicas (a leader for 2 × FOLLOWER_TIMEOUT_MS, a follower
   * whose peers do not answer): 503 `not ready: … cannot reach a majority …` with `no_quorum`, so
   * that the front end elects a replica on the majority side instead.
   */
  @Get(OrderRoutes.ping)
  @ApiOperation({ summary: 'Readiness (seed form): up, database answering, recovery finished' })
  @ApiOkResponse({ description: 'this replica\'s id and port', type: PingResponseDto })
  @ApiFailures('error', { 503: 'not ready: recovering (not_ready), cut off from a majority of the replicas (no_quorum), or the database does not answer' })
  async ping(): Promise<PingResponse> {
    await this.health.check([() => this.db.pingCheck('database')]);
    const notReady = this.recovery.notReadyReason();
    if (notReady) throw new Unavailable(`not ready: ${notReady}`, ReplicaRefusal.notReady);
    const noQuorum = await this.leadership.quorumRefusal();
    if (noQuorum) throw new Unavailable(`not ready: ${noQuorum}`, ReplicaRefusal.noQuorum);
    return { 'alive order server': this.state.id, port: this.port };
  }

  /**
   * Liveness: 200 while the process and its database answer, also while the replica recovers
   * (the report says how far it is); 503 when the database does not answer.
   */
  @Get(OrderRoutes.health)
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: terminus\'s report of the database and the recovery state' })
  @ApiOkResponse({ description: 'terminus\'s report', type: HealthReportDto })
  @ApiFailures('error', { 503: 'a check failed (the database does not answer)' })
  report() {
    return this.health.check([() => this.db.pingCheck('database'), () => this.recovery.report('recovery')]);
  }
}
