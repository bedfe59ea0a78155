import type { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BazaarExpressAdapter } from '@app/common/http/express-adapter';
import { CeilingModule } from './ceiling.module';

/**
 * The benchmark's ceiling: a bare NestJS app on platform-express (default settings, no global
 * pipes, filters, interceptors or Swagger) answering `GET /` with a constant JSON body: the
 * reference the bench's ratios are taken against. Started by
 * `npm run bench` as a child process: `CEILING_PORT` (required), `CEILING_HOST` (default
 * 127.0.0.1) and `CEILING_ADAPTER=bazaar` to run it on the bazaar's Express adapter instead of
 * Nest's (the `ceiling-adapter` scenario: what that adapter alone is worth).
 */
async function main(): Promise<void> {
  const port = Number(process.env.CEILING_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`ceiling: CEILING_PORT must be an integer between 1 and 65535 (got ${JSON.stringify(process.env.CEILING_PORT)})\n`);
    process.exit(1);
  }
  const host = process.env.CEILING_HOST ?? '127.0.0.1';
  const options: NestApplicationOptions = { logger: ['error', 'warn'] };
  const app =
    process.env.CEILING_ADAPTER === 'bazaar'
      ? await NestFactory.create<NestExpressApplication>(CeilingModule, new BazaarExpressAdapter(), options)
      : await NestFactory.create<NestExpressApplication>(CeilingModule, options);
  app.enableShutdownHooks();
  await app.listen(port, host);
  process.stdout.write(`ceiling listening on http://${host}:${port}\n`);
}

void main();
