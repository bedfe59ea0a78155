import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { OrderEnv, OrderRoutes, PingResponse } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
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
    config: ConfigService<OrderEnv, true>,
  ) {
    this.port = config.get('ORDER_PORT', { infer: true }) ?? Number(new URL(state.self.url).port);
  }

  private checks() {
    return [() => this.db.pingCheck('database'), () => this.recovery.isRecovered('recovery')];
  }

  /**
   * `GET /ping` → 200 `{"alive order server":<id>,"port":<port>}` when the database answers and
   * recovery has finished; otherwise terminus's 503 report.
   */
  @Get(OrderRoutes.ping)
  async ping(): Promise<PingResponse> {
    await this.health.check(this.checks());
    return { 'alive order server': this.state.id, port: this.port };
  }

  /** Terminus's full report. */
  @Get(OrderRoutes.health)
  @HealthCheck()
  report() {
    return this.health.check(this.checks());
  }
}
