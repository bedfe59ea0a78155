import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LevelWithSilent } from 'pino';
import { CLUSTER_TOKEN_HEADER, CommonEnv, LogLevelName } from '@app/contracts';
import { assignRequestId } from '../http/request-context';

/** The apps' LOG_LEVEL names (Nest's) as pino levels. */
export const PINO_LEVELS: Record<LogLevelName, LevelWithSilent> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

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
 * Structured logs through pino (nestjs-pino): one JSON object per line with the app's name and,
 * inside a request, its id (`reqId`), which the internal HTTP client passes on to the next hop.
 */
@Module({})
export class LoggingModule {
  static forApp(app: string): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<CommonEnv, true>) => {
            const pretty = prettyLogs(config.get('LOG_FORMAT', { infer: true }));
            return {
              pinoHttp: {
                level: PINO_LEVELS[config.get('LOG_LEVEL', { infer: true })],
                base: { app },
                genReqId: (req: IncomingMessage, res: ServerResponse) => assignRequestId(req, res),
                quietReqLogger: true,
                customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => requestLogLevel(res, err),
                serializers: {
                  req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
                  res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
                },
                redact: { paths: [`req.headers["${CLUSTER_TOKEN_HEADER}"]`], censor: '[redacted]' },
                transport: pretty
                  ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
                  : undefined,
              },
            };
          },
        }),
      ],
    };
  }
}
