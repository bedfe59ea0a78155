import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import { CLUSTER_TOKEN_HEADER } from '../routes';
import { ErrorResponseDto, InvalidatedDto, MessageFailureDto, NotCachedDto, OrderFailedResponseDto } from './responses.dto';

/**
 * Swagger decorators for the apps' answers, so that every operation documents each status it can
 * give with a schema (test/openapi.e2e-spec.ts checks it for every route of every app).
 */

/** The seed's failure shapes (see `ErrorShape` in libs/common's error filter). */
export type FailureShape = 'error' | 'order' | 'message';

const SHAPES = { error: ErrorResponseDto, order: OrderFailedResponseDto, message: MessageFailureDto } as const;

/** The 401 of an internal endpoint without the cluster token. */
export const CLUSTER_TOKEN_FAILURE = `internal endpoint: missing or wrong cluster token (${CLUSTER_TOKEN_HEADER} header)`;

/** The usual descriptions, for routes that fail the usual ways. */
export const Failure = {
  invalid: 'invalid input (the message says which field and why)',
  tooLarge: 'request body over 64 KiB',
  unsupported: 'a body the server cannot read: a charset other than a UTF one (`charset=latin1`), or a Content-Encoding other than gzip, deflate or br',
  token: CLUSTER_TOKEN_FAILURE,
  rateLimited: 'rate limit exceeded (when RATE_LIMIT is set), with Retry-After',
} as const;

/**
 * Documents failures of a route, each `status: description`, all answered in `shape`. Applied to
 * a method it replaces a same-status response declared on the class (e.g. the 401 of
 * `Internal()`, which names the default shape).
 */
export function ApiFailures(
  shape: FailureShape,
  failures: Record<number, string>,
  /** Response headers every one of these answers carries (e.g. {@link IDEMPOTENCY_KEY_RESPONSE_DOC}). */
  headers?: ResponseHeaders,
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(failures).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, type: SHAPES[shape], ...(headers ? { headers } : {}) }),
    ),
  );
}

/** OpenAPI response headers, by name. */
export type ResponseHeaders = Record<string, { description: string; schema: { type: 'string' } }>;

/** The `Idempotency-Key` header of every answer of `POST /orders`. */
export const IDEMPOTENCY_KEY_RESPONSE_DOC: ResponseHeaders = {
  'Idempotency-Key': {
    description: "the trade's idempotency key: the client's, or the one the front end made up; retry with it to learn the outcome",
    schema: { type: 'string' },
  },
};

/** The schemas referenced by hand (`getSchemaPath`) rather than by `type`: registered with the app's document. */
export function ApiDocModels(): ClassDecorator & MethodDecorator {
  return ApiExtraModels(InvalidatedDto, NotCachedDto);
}
