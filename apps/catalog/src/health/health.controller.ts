import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiFailures } from '@app/contracts/dto/api-docs';
import { HealthReportDto } from '@app/contracts/dto/responses.dto';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
  ) {}

  /** Terminus report: the database answers. */
  @Get('health')
  @HealthCheck()
  @ApiOperation({ summary: 'Health: the database answers (terminus)' })
  @ApiOkResponse({ description: 'terminus\'s report', type: HealthReportDto })
  @ApiFailures('error', { 503: 'a check failed (the database does not answer)' })
  check() {
    return this.health.check([() => this.db.pingCheck('database')]);
  }
}
