import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ClusterStatusResponse, FrontendRoutes } from '@app/contracts';
import { CLUSTER_STATUS_SCHEMA } from './cluster-status.schema';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page';
import { StatusService } from './status.service';

@ApiTags('status')
@Controller()
export class StatusController {
  constructor(private readonly status: StatusService) {}

  /** `GET /status.json`: leader, replicas (state, position, lag), catalog, cache and leader changes. */
  @Get(FrontendRoutes.statusJson)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'The cluster at a glance: leader, replicas with their lag, catalog, cache, leader changes' })
  @ApiOkResponse({ description: 'The view, assembled at most every 250 ms (concurrent callers share one)', schema: CLUSTER_STATUS_SCHEMA })
  view(): Promise<ClusterStatusResponse> {
    return this.status.view();
  }

  /** `GET /status`: a self-contained page that redraws `/status.json` every 500 ms. */
  @Get(FrontendRoutes.statusPage)
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', STATUS_PAGE_CSP)
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: 'The cluster status as a web page that refreshes itself' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'A self-contained HTML page (inline CSS and script) polling /status.json', schema: { type: 'string' } })
  page(): string {
    return STATUS_PAGE_HTML;
  }
}
