import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthCheckService) {}

  /**
   * Liveness: the process serves HTTP. It does not depend on the replicas or the catalog, so an
   * orchestrator never restarts a front end for a fault elsewhere (`GET /leader` tells whether
   * trades can be taken).
   */
  @Get('health')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the front end process answers' })
  @ApiOkResponse({
    description: 'Terminus report',
    schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' } } },
  })
  @ApiServiceUnavailableResponse({
    description: 'Terminus report of a failed check',
    schema: { type: 'object', properties: { status: { type: 'string', example: 'error' } } },
  })
  check() {
    return this.health.check([]);
  }
}
