import { applyDecorators, ExecutionContext, Injectable, Logger, Module, SetMetadata } from '@nestjs/common';
import { ConditionalModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { FrontendEnv } from '@app/contracts';

const RATE_LIMITED = Symbol('rate-limited');

/** Marks a public controller (or handler) as subject to the rate limit, when one is configured. */
export function RateLimited(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(RATE_LIMITED, true),
    ApiTooManyRequestsResponse({ description: 'rate limit exceeded (when RATE_LIMIT is set)' }),
  );
}

/** The throttler guard, for the routes marked {@link RateLimited} only. */
@Injectable()
class PublicApiThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const marked = this.reflector.getAllAndOverride<boolean>(RATE_LIMITED, [context.getHandler(), context.getClass()]);
    return !marked;
  }
}

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<FrontendEnv, true>) => {
        const limit = config.get('RATE_LIMIT', { infer: true });
        const ttl = config.get('RATE_LIMIT_WINDOW_MS', { infer: true });
        new Logger('RateLimit').log(`rate limit: at most ${limit} requests per ${ttl} ms from one address to the public API (RATE_LIMIT)`);
        return {
          throttlers: [{ name: 'default', limit, ttl }],
          // One budget per address for the whole public API (the default would keep one per route).
          generateKey: (_context, tracker, throttler) => `${throttler}:${tracker}`,
          errorMessage: `too many requests: at most ${limit} per ${ttl} ms from one address`,
        };
      },
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: PublicApiThrottlerGuard }],
})
class ThrottledPublicApiModule {}

/**
 * Per-client-address rate limit of the public API (@nestjs/throttler, in-memory): at most
 * `RATE_LIMIT` requests per `RATE_LIMIT_WINDOW_MS` from one address to the routes marked
 * {@link RateLimited}, then 429 in the route's error shape with `Retry-After`. The address is the
 * TCP peer's. Off (the default, `RATE_LIMIT=0`) means not installed at all — no guard runs on any
 * request — so benchmarks and tests are never throttled, nor slowed, by accident.
 */
export const RateLimitModule = ConditionalModule.registerWhen(ThrottledPublicApiModule, (env) => Number(env.RATE_LIMIT ?? 0) > 0, {
  // Its "evaluated to false" line goes to Nest's default logger before the app's own is in place:
  // a coloured DEBUG line among the JSON ones on every start, whatever LOG_LEVEL says.
  debug: false,
});
