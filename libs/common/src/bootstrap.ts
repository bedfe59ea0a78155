import { INestApplication, Logger as NestLogger, Module, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { CLUSTER_TOKEN_HEADER, CommonEnv, ConfigError, MAX_BODY_BYTES, misspelledSettingLine, misspelledSettings, validateEnv } from '@app/contracts';
import { DatabaseFileError } from './database/sqlite';
import { DataDirError, makeDataDir } from './fs/data-dir';
import { FileInUseError } from './fs/process-lock';
import { BazaarExpressAdapter, DEFAULT_CONNECTION_LIMITS } from './http/express-adapter';
import { observeRequests } from './http/request-observer';
import { applyCpuScheduling } from './lifecycle/cpu-scheduling';
import { enableGracefulShutdown, HttpDrain } from './lifecycle/graceful-shutdown';
import { applyInterruptBudget } from './lifecycle/v8-tiering';
import { dropLogOutput, LoggingModule, requestLog, ROOT_LOGGER } from './logging/logging.module';
import { HttpMetrics, MetricsModule } from './metrics/metrics.module';
import { CLUSTER_TOKEN_SCHEME } from './security/cluster-token';
import { resolveClusterToken } from './security/token-file';

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
  /** How long an idle keep-alive connection is kept open (node's 5 s when unset; see ConnectionLimits). */
  keepAliveTimeoutMs?: number;
}

/**
 * Starts one server app the same way everywhere:
 * - on {@link BazaarExpressAdapter} (requests born with Express's prototypes: far less GC);
 * - JSON bodies parsed whatever the Content-Type (the seed's client sends none), bounded in size;
 * - structured logs (pino) with a request id that follows a request across hops;
 * - `GET /metrics` (Prometheus) with every request's latency;
 * - Swagger UI at /docs; shutdown hooks so SIGTERM closes the server and the database;
 * - every thread under `CPU_SCHEDULING` (SCHED_BATCH by default, see {@link applyCpuScheduling});
 * - V8's interrupt budget from `V8_INTERRUPT_BUDGET` once it listens, so that the request path is optimised soon after start ({@link applyInterruptBudget}).
 * A configuration error (a `DATA_DIR` that cannot be made or used among them), a database file that cannot be used ({@link DatabaseFileError}: corrupt, or refusing
 * a write the start-up needs), or a data file another process holds ({@link FileInUseError}), prints one line and exits 1.
 */
export async function bootstrapServer<E extends CommonEnv>(spec: ServerSpec<E>): Promise<INestApplication> {
  // Until the app can shut down gracefully, SIGTERM's default: the process ends at once.
  let supervisorGone = (): void => void process.kill(process.pid, 'SIGTERM');
  let settings: E;
  stopWithSupervisor(() => supervisorGone());
  try {
    // First: the token file is looked for in it, and a path it cannot be made at is a setting's error.
    makeDataDir(process.env.DATA_DIR || './data');
    resolveClusterToken(process.env);
    settings = validateEnv(spec.env, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof DataDirError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message}\n`);
    process.exit(1);
  }
  @Module({ imports: [await spec.loadModule(), LoggingModule.forApp(spec.name), MetricsModule.forApp(spec.name)] })
  class ServerModule {}
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(ServerModule, new BazaarExpressAdapter({ ...DEFAULT_CONNECTION_LIMITS, perClient: settings.MAX_CONNECTIONS_PER_CLIENT, keepAliveTimeoutMs: spec.keepAliveTimeoutMs }), {
      bodyParser: false,
      bufferLogs: true,
      // Failures come back here, their log still buffered: a corrupt database file is one line.
      abortOnError: false,
      autoFlushLogs: false,
    });
  } catch (err) {
    if (err instanceof DatabaseFileError || err instanceof DataDirError || err instanceof FileInUseError) process.stderr.write(`${spec.name}: ${err.message}\n`);
    else NestLogger.flush(); // Nest's own report of any other start-up error, stack included
    process.exit(1);
  }
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.flushLogs();
  // No ETag on API answers: they are never revalidated, and hashing each body costs CPU per request.
  app.set('etag', false);
  app.disable('x-powered-by');
  // Observed first — given its id, drained on shutdown, timed, logged — so that body-parser
  // failures count too.
  app.use(observeRequests([app.get(HttpDrain), app.get(HttpMetrics), requestLog(app.get(ROOT_LOGGER))]));
  app.useBodyParser('json', { type: () => true, limit: MAX_BODY_BYTES, strict: true });
  enableGracefulShutdown(app, logger);
  supervisorGone = () => {
    quietIfOutputGone(spec.name, app.get(ROOT_LOGGER));
    process.kill(process.pid, 'SIGTERM');
  };
  // Run alone (not under `npm start`, whose supervisor says it once for every service).
  if (!process.connected) for (const m of misspelledSettings(process.env)) logger.warn(misspelledSettingLine(m), 'Bootstrap');
  const config = app.get<ConfigService<E, true>>(ConfigService);
  const scheduling = await applyCpuScheduling((config as ConfigService<CommonEnv, true>).get('CPU_SCHEDULING', { infer: true }));
  if (scheduling) logger[scheduling.warn ? 'warn' : 'log'](scheduling.message, 'Bootstrap');
  if ((config as ConfigService<CommonEnv, true>).get('SWAGGER_ENABLED', { infer: true })) {
    const doc = new DocumentBuilder()
      .setTitle(`Stock Bazaar — ${spec.name}`)
      .setDescription(spec.description)
      .addApiKey({ type: 'apiKey', in: 'header', name: CLUSTER_TOKEN_HEADER }, CLUSTER_TOKEN_SCHEME)
      .build();
    SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
  }
  const port = spec.port(config);
  const host = (config as ConfigService<CommonEnv, true>).get('HOST', { infer: true });
  if (!(config as ConfigService<CommonEnv, true>).get('CLUSTER_TOKEN', { infer: true })) {
    logger.warn(
      'CLUSTER_TOKEN is not set: internal endpoints accept requests from anyone who can reach this port. ' +
        'Set the same CLUSTER_TOKEN or CLUSTER_TOKEN_FILE on every service (npm start keeps one in DATA_DIR/cluster-token).',
      'Bootstrap',
    );
  }
  try {
    // Tried first on a bare server, so that an address in use is one line, not Nest's error log.
    await canListen(port, host);
    await app.listen(port, host);
  } catch (err) {
    // listen() runs the modules' onModuleInit hooks first: a database file that fails there is one line too.
    const problem = err instanceof DatabaseFileError || err instanceof FileInUseError ? err.message : listenProblem(err, host, port);
    if (!problem) throw err;
    process.stderr.write(`${spec.name}: ${problem}\n`);
    process.exit(1);
  }
  logger.log(`listening on http://${host}:${port} (docs at /docs)`, 'Bootstrap');
  // Once listening: the start-up code, which runs once, is left to V8's own budget.
  const tiering = applyInterruptBudget((config as ConfigService<CommonEnv, true>).get('V8_INTERRUPT_BUDGET', { infer: true }));
  if (tiering) logger.log(tiering, 'Bootstrap');
  // Started by `npm start`'s supervisor: tell it that this process, not another, holds the port.
  if (process.send) {
    process.send({ bazaar: 'listening', port }, () => process.channel?.unref());
  }
  return app;
}

/**
 * Started by `npm start`'s supervisor (an IPC channel): when the supervisor is gone — SIGKILLed,
 * OOM-killed, crashed — its end of the channel closes and this process gets 'disconnect' (the
 * channel, unref'd once listening, still reports it). `stop` then stops the app as SIGTERM does
 * (drain, close, exit: {@link enableGracefulShutdown}) rather than leave an orphan that holds its
 * port against the next `npm start`. The supervisor stops its services with SIGTERM and waits for
 * them, so this never races a normal stop.
 */
function stopWithSupervisor(stop: () => void): void {
  if (!process.send) return;
  if (process.connected) process.once('disconnect', stop);
  else stop();
}

/**
 * Says on stderr that the supervisor is gone (should anyone still read it), then drops every log
 * line, those pino already buffered included ({@link dropLogOutput}): the supervisor was the only
 * reader of this process's stdout and stderr (pipes it made), so they went with it, and pino's
 * flush at exit would otherwise retry its buffered lines for ever (sonic-boom's `flushSync` sleeps
 * and retries on EPIPE), and the process would never end. Silencing new lines alone left those
 * already buffered: a front end still running a minute after its supervisor was SIGKILLed.
 */
function quietIfOutputGone(name: string, root: PinoInstance): void {
  try {
    writeSync(2, `${name}: the supervisor is gone (its IPC channel closed): stopping as on SIGTERM\n`);
  } catch {
    // EPIPE, as expected: nobody reads it.
  }
  dropLogOutput(root);
}

/** Resolves when `host:port` can be bound (the probe is closed again at once); rejects with the bind error. */
function canListen(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** One line for an address the server cannot listen on, or undefined for any other error. */
export function listenProblem(err: unknown, host: string, port: number): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use (is this service already running?)`;
    case 'EADDRNOTAVAIL':
      return `cannot bind ${host}:${port}: ${host} is not an address of this host (check HOST)`;
    case 'EACCES':
      return `not allowed to bind ${host}:${port} (a port below 1024 needs privileges)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot bind ${host}:${port}: the host name ${host} does not resolve (check HOST)`;
    default:
      return undefined;
  }
}
