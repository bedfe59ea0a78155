import { applyDecorators, CanActivate, ExecutionContext, Injectable, UnauthorizedException, UseGuards } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CLUSTER_TOKEN_HEADER, CommonEnv } from '@app/contracts';
import { ErrorResponseDto } from '@app/contracts/dto/responses.dto';

/** Swagger security scheme name of the cluster token (see {@link bootstrapServer}). */
export const CLUSTER_TOKEN_SCHEME = 'cluster-token';

export const CLUSTER_TOKEN_REQUIRED = `missing or wrong cluster token (${CLUSTER_TOKEN_HEADER} header)`;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Compares a presented token with the expected one in constant time. Both are hashed first so
 * that neither the comparison's duration nor an early length check reveals anything.
 */
export function tokenMatches(expected: Buffer, presented: unknown): boolean {
  return typeof presented === 'string' && timingSafeEqual(digest(presented), expected);
}

/**
 * Lets a request through to an internal endpoint only with the cluster token. Without
 * `CLUSTER_TOKEN` configured every request passes (bootstrap logs a warning about it).
 */
@Injectable()
export class ClusterTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(config: ConfigService<CommonEnv, true>) {
    const token = config.get('CLUSTER_TOKEN', { infer: true });
    this.expected = token ? digest(token) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (tokenMatches(this.expected, req.headers[CLUSTER_TOKEN_HEADER])) return true;
    throw new UnauthorizedException(CLUSTER_TOKEN_REQUIRED);
  }
}

/**
 * Marks a controller or route as internal: only the cluster's own services may call it. Its 401
 * is documented in the default `{"error":…}` shape; a route answering in another shape documents
 * its own 401 (`ApiFailures(shape, { 401: … })`), which replaces this one.
 */
export function Internal(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    UseGuards(ClusterTokenGuard),
    ApiSecurity(CLUSTER_TOKEN_SCHEME),
    ApiUnauthorizedResponse({ description: `internal endpoint: ${CLUSTER_TOKEN_REQUIRED}`, type: ErrorResponseDto }),
  );
}
