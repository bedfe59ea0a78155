import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import type { ServerResponse } from 'node:http';
import pino, { type LevelWithSilent, type Logger as PinoInstance } from 'pino';
import { CLUSTER_TOKEN_HEADER, CommonEnv, LogLevelName } from '@app/contracts';
import type { RequestObserver } from '../http/request-observer';

/** The apps' LOG_LEVEL names (Nest's) as pino levels. */
export const PINO_LEVELS: Record<LogLevelName, LevelWithSilent> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Injection token of the app's root pino logger (every log line goes through it). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** `LOG_FORMAT=auto` is pretty on a terminal and JSON lines otherwise (files, pipes, collectors). */
export function prettyLogs(format: CommonEnv['LOG_FORMAT'], isTty = !!process.stdout.isTTY): boolean {
  return format === 'pretty' || (format === 'auto' && isTty);
}

/**
 * How loudly a finished request is logged: server errors always, client errors (bad input,
 * refused trades) at info, successes only at debug — so the default level logs what went wrong
 * and a benchmark is not slowed by a line per request.
 */
export function requestLogLevel(res: ServerResponse, err?: Error): LevelWithSilent {
  if (err || res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'info';
  return 'debug';
}

/**
 * The app's root pino logger: JSON lines (or pino-pretty) with the app's name. Request lines
 * carry the request's id (`reqId`, see {@link requestLog}); so do the service lines that log on
 * a request's behalf and know it.
 */
export function createRootLogger(app: string, level: LevelWithSilent, pretty: boolean): PinoInstance {
  return pino({
    level,
    base: { app },
    redact: { paths: [`req.headers["${CLUSTER_TOKEN_HEADER}"]`], censor: '[redacted]' },
    transport: pretty
      ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
      : undefined,
  });
}

/**
 * The request log: each finished request as "request completed" at {@link requestLogLevel}'s
 * level, or "request aborted" at error when the connection closed before the answer was sent.
 * The level is checked before anything is built, so a success costs nothing at the default level.
 */
export function requestLog(logger: PinoInstance): RequestObserver {
  return {
    finished({ req, res, id, seconds, aborted }) {
      const level = requestLogLevel(res, aborted ? new Error('aborted') : undefined);
      if (!logger.isLevelEnabled(level)) return;
      const line = {
        reqId: id,
        req: { id, method: req.method, url: req.url },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(seconds * 1000),
        ...(aborted ? { err: { message: 'the connection closed before the response was sent' } } : {}),
      };
      logger[level as pino.Level](line, aborted ? 'request aborted' : 'request completed');
    },
  };
}

/**
 * Structured logs through pino (nestjs-pino as Nest's logger): one JSON object per line with the
 * app's name; request lines carry the request's id (`reqId`), which handlers pass on to the next
 * hop. Requests are logged by {@link requestLog}, not pino-http's middleware
 * (`forRoutes: []`): pino-http builds a child logger and its bindings for every request, which
 * cost the front end about a tenth of its CPU on cached lookups.
 */
@Module({})
export class LoggingModule {
  static forApp(app: string): DynamicModule {
    const root = {
      provide: ROOT_LOGGER,
      inject: [ConfigService],
      useFactory: (config: ConfigService<CommonEnv, true>) =>
        createRootLogger(app, PINO_LEVELS[config.get('LOG_LEVEL', { infer: true })], prettyLogs(config.get('LOG_FORMAT', { infer: true }))),
    };
    @Module({ providers: [root], exports: [root] })
    class RootLoggerModule {}
    return {
      module: LoggingModule,
      imports: [
        RootLoggerModule,
        LoggerModule.forRootAsync({
          imports: [RootLoggerModule],
          inject: [ROOT_LOGGER],
          useFactory: (logger: PinoInstance) => ({ pinoHttp: { logger }, forRoutes: [] }),
        }),
      ],
      exports: [RootLoggerModule],
    };
  }
}
