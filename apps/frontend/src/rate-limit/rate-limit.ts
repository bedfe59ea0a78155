import { applyDecorators, UseGuards } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { FrontendEnv } from '@app/contracts';

/**
 * Per-client-address rate limit of the public API (@nestjs/throttler, in-memory): at most
 * `RATE_LIMIT` requests per `RATE_LIMIT_WINDOW_MS` from one address, then 429 in the route's
 * error shape with `Retry-After`. Off (the default) when `RATE_LIMIT` is 0, so benchmarks and
 * tests are never throttled by accident. The address is the TCP peer's.
 */
export const RateLimitModule = ThrottlerModule.forRootAsync({
  inject: [ConfigService],
  useFactory: (config: ConfigService<FrontendEnv, true>) => {
    const limit = config.get('RATE_LIMIT', { infer: true });
    const ttl = config.get('RATE_LIMIT_WINDOW_MS', { infer: true });
    return {
      throttlers: [{ name: 'default', limit: limit || Number.MAX_SAFE_INTEGER, ttl }],
      skipIf: () => limit === 0,
      // One budget per address for the whole public API (the default would keep one per route).
      generateKey: (_context, tracker, throttler) => `${throttler}:${tracker}`,
      errorMessage: `too many requests: at most ${limit} per ${ttl} ms from one address`,
    };
  },
});

/** Applies the rate limit to a public controller. */
export function RateLimited(): ClassDecorator {
  return applyDecorators(UseGuards(ThrottlerGuard), ApiTooManyRequestsResponse({ description: 'rate limit exceeded (when RATE_LIMIT is set)' }));
}
