import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import type { ServerResponse } from 'node:http';
import pino, { type LevelWithSilent, type Logger as PinoInstance } from 'pino';
import { CLUSTER_TOKEN_HEADER, CommonEnv, FrontendRefusal, LogLevelName, ReplicaRefusal } from '@app/contracts';
import { failureOf, type RequestObserver } from '../http/request-observer';
export { dropLogOutput } from './drop-log-output';

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

const REFUSAL_CODES: ReadonlySet<string> = new Set([...Object.values(ReplicaRefusal), ...Object.values(FrontendRefusal)]);

/**
 * An answer that is part of the protocol rather than a fault: a refused trade (409, not enough
 * shares or over capacity), a replica's 503 whose body carries a {@link ReplicaRefusal} code
 * (not ready while it recovers, stale epoch, not the leader…), which its caller handles by
 * retrying or re-electing, and the front end's `GET /leader` with no leader elected yet
 * ({@link FrontendRefusal}: what `npm start` and monitors poll for).
 */
export function isExpectedRefusal(res: ServerResponse): boolean {
  if (res.statusCode === 409) return true;
  const code = failureOf(res)?.code;
  return res.statusCode === 503 && code !== undefined && REFUSAL_CODES.has(code);
}

/**
 * How loudly a finished request is logged: successes and expected refusals
 * ({@link isExpectedRefusal}) at debug, other client errors (bad input, unknown stocks) at info,
 * other server errors always — so the default level logs what went wrong, and neither a
 * benchmark nor a recovering replica answering each heartbeat "not ready" fills the log.
 *
 * Expected refusals go to debug, not warn: each is the protocol working (the caller retries,
 * re-elects or tells its client), they come at heartbeat rate while a replica recovers, and
 * what they stem from is logged once where it happens (recovery, elections, fencing).
 */
export function requestLogLevel(res: ServerResponse, err?: Error): LevelWithSilent {
  if (err) return 'error';
  if (res.statusCode < 400 || isExpectedRefusal(res)) return 'debug';
  if (res.statusCode >= 500) return 'error';
  return 'info';
}

/**
 * Contexts whose `log`-level lines are start-up detail, logged at debug: Nest's
 * "Mapped {/stocks, GET} route" (one line per route, ~180 over a cluster), "XController {/}:",
 * "XModule dependencies initialized" and "Nest application successfully started" (each service
 * says once, at `log`, where it listens).
 */
export const DEBUG_CONTEXTS: ReadonlySet<string> = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader', 'NestFactory', 'NestApplication']);

/** The level a line is written at: `info` lines of a {@link DEBUG_CONTEXTS} context go down to debug. */
export function lineLevel(level: number, firstArg: unknown): 'debug' | undefined {
  if (level !== pino.levels.values.info || typeof firstArg !== 'object' || firstArg === null) return undefined;
  const context = (firstArg as { context?: unknown }).context;
  return typeof context === 'string' && DEBUG_CONTEXTS.has(context) ? 'debug' : undefined;
}

/**
 * The app's root pino logger: JSON lines (or pino-pretty) with the app's name. Request lines
 * carry the request's id (`reqId`, see {@link requestLog}); so do the service lines that log on
 * a request's behalf and know it.
 */
export function createRootLogger(app: string, level: LevelWithSilent, pretty: boolean, destination?: pino.DestinationStream): PinoInstance {
  const options: pino.LoggerOptions = {
    level,
    base: { app },
    redact: { paths: [`req.headers["${CLUSTER_TOKEN_HEADER}"]`], censor: '[redacted]' },
    hooks: {
      logMethod(args, method, level) {
        // Re-issued at debug (a no-op unless debug is enabled); the hook sees it again at level 20.
        if (lineLevel(level, args[0]) === 'debug') return (this.debug as (...a: unknown[]) => void)(...args);
        return method.apply(this, args);
      },
    },
    transport: pretty
      ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
      : undefined,
  };
  // `destination`: where JSON lines go instead of stdout (tests).
  return destination && !pretty ? pino(options, destination) : pino(options);
}

/** Most characters of a request's URL, and of its failure's message, in a log line: a client's 15 KB path made 25 KB of log. */
export const LOGGED_TEXT_MAX = 512;

/** `text` cut to {@link LOGGED_TEXT_MAX} characters, saying how long it was. */
export function loggedText(text: string | undefined): string | undefined {
  return text === undefined || text.length <= LOGGED_TEXT_MAX ? text : `${text.slice(0, LOGGED_TEXT_MAX)}… (${text.length} characters)`;
}

/**
 * The request log: each finished request as "request completed" at {@link requestLogLevel}'s
 * level, or "request aborted" at warn when the connection closed before the answer was sent (the
 * caller gave up: a slow answer, or a client's own doing, which is no server error). The level is
 * checked before anything is built, so a success costs nothing at the default level. URLs and
 * messages are cut to {@link LOGGED_TEXT_MAX}, so that a client cannot fill the disk with long ones.
 */
export function requestLog(logger: PinoInstance): RequestObserver {
  return {
    finished({ req, res, id, seconds, aborted }) {
      const level = aborted ? 'warn' : requestLogLevel(res);
      if (!logger.isLevelEnabled(level)) return;
      const failure = failureOf(res);
      const line = {
        reqId: id,
        req: { id, method: req.method, url: loggedText(req.url) },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(seconds * 1000),
        ...(aborted
          ? { err: { message: 'the connection closed before the response was sent' } }
          : failure?.message ? { err: { message: loggedText(failure.message) } } : {}),
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
