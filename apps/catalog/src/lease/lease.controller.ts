import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CatalogRoutes, LeaseGrant, LeaseGrantDto, LeaseRequestDto } from '@app/contracts';
import { ApiFailures, Failure } from '@app/contracts/dto/api-docs';
import { Internal } from '@app/common';
import { LeaseService } from './lease.service';

@ApiTags('catalog (internal)')
@Internal()
@Controller()
export class LeaseController {
  constructor(private readonly leases: LeaseService) {}

  /** `POST /lease {"frontend","instance"?,"catalog"?,"applied"?}` → `{"lease_ms","catalog","grant","invalidate":[…],"trade_volumes"?:[…],"wait_ms"}`. */
  @Post(CatalogRoutes.lease)
  @HttpCode(200)
  @ApiOperation({
    summary: "A front end's cache lease: granted or renewed for CACHE_LEASE_MS, with the invalidations its pushes missed",
  })
  @ApiOkResponse({ description: 'the lease, from when the front end sent its request', type: LeaseGrantDto })
  @ApiFailures('error', {
    400: `${Failure.invalid}: frontend (an http(s) URL), instance, catalog or applied`,
    401: Failure.token,
    409: 'not one of FRONTEND_URLS, or that front end\'s lease is held by another id or another process of it (`instance`)',
    413: Failure.tooLarge,
    415: Failure.unsupported,
  })
  lease(@Body() dto: LeaseRequestDto): LeaseGrant {
    return this.leases.grant(dto.frontend, dto.catalog, dto.applied, undefined, dto.instance);
  }
}
