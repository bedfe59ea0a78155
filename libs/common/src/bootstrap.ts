import { ConsoleLogger, INestApplication, LogLevel, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { CommonEnv, ConfigError, LOG_LEVELS, LogLevelName, MAX_BODY_BYTES, validateEnv } from '@app/contracts';
import { enableGracefulShutdown } from './lifecycle/graceful-shutdown';

export interface ServerSpec<E extends CommonEnv> {
  /** Log prefix and Swagger title, e.g. `catalog`. */
  name: string;
  description: string;
  /** Schema of the app's environment, validated before anything else is loaded. */
  env: new () => E;
  /**
   * Loads the root module. Loaded lazily, after the environment has been validated, because
   * `ConfigModule.forRoot({ validate })` validates again when the module file is evaluated.
   */
  loadModule: () => Promise<Type<unknown>>;
  /** Reads the listening port from the validated configuration. */
  port: (config: ConfigService<E, true>) => number;
}

function levelsFrom(level: string | undefined): LogLevel[] {
  const i = LOG_LEVELS.indexOf((level ?? 'log') as LogLevelName);
  return LOG_LEVELS.slice(0, i < 0 ? 3 : i + 1) as LogLevel[];
}

/**
 * Starts one server app the same way everywhere: JSON bodies parsed whatever the Content-Type
 * (the seed's client sends none), bounded body size, Swagger UI at /docs, shutdown hooks so
 * SIGTERM closes the server and the database. A configuration error prints one line and exits 1.
 */
export async function bootstrapServer<E extends CommonEnv>(spec: ServerSpec<E>): Promise<INestApplication> {
  try {
    validateEnv(spec.env, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message}\n`);
    process.exit(1);
  }
  const logger = new ConsoleLogger({ prefix: spec.name, logLevels: levelsFrom(process.env.LOG_LEVEL) });
  const app = await NestFactory.create<NestExpressApplication>(await spec.loadModule(), {
    bodyParser: false,
    logger,
  });
  app.useBodyParser('json', { type: () => true, limit: MAX_BODY_BYTES, strict: true });
  enableGracefulShutdown(app, logger);
  const config = app.get<ConfigService<E, true>>(ConfigService);
  if ((config as ConfigService<CommonEnv, true>).get('SWAGGER_ENABLED', { infer: true })) {
    const doc = new DocumentBuilder().setTitle(`Stock Bazaar — ${spec.name}`).setDescription(spec.description).build();
    SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
  }
  const port = spec.port(config);
  const host = (config as ConfigService<CommonEnv, true>).get('HOST', { infer: true });
  await app.listen(port, host);
  logger.log(`listening on http://${host}:${port} (docs at /docs)`, 'Bootstrap');
  return app;
}
