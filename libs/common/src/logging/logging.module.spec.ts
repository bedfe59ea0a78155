import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as PinoInstance } from 'pino';
import { type AnsweredFailure, noteFailure } from '../http/request-observer';
import { createRootLogger, lineLevel, PINO_LEVELS, prettyLogs, requestLog, requestLogLevel } from './logging.module';

describe('logging', () => {
  it('logs server errors always, client errors at info and successes at debug', () => {
    const res = (statusCode: number) => ({ statusCode }) as ServerResponse;
    expect(requestLogLevel(res(200))).toBe('debug');
    expect(requestLogLevel(res(400))).toBe('info');
    expect(requestLogLevel(res(404))).toBe('info');
    expect(requestLogLevel(res(405))).toBe('info');
    expect(requestLogLevel(res(500))).toBe('error');
    expect(requestLogLevel(res(503))).toBe('error');
    expect(requestLogLevel(res(200), new Error('aborted'))).toBe('error');
  });

  it('logs expected refusals at debug: a refused trade, and a 503 carrying a refusal code', () => {
    const res = (statusCode: number, code?: string) => {
      const r = { statusCode } as ServerResponse;
      if (code !== undefined) noteFailure(r, { status: statusCode, code });
      return r;
    };
    expect(requestLogLevel(res(409))).toBe('debug');
    expect(requestLogLevel(res(503, 'not_ready'))).toBe('debug');
    expect(requestLogLevel(res(503, 'stale_epoch'))).toBe('debug');
    expect(requestLogLevel(res(503, 'insufficient_replicas'))).toBe('debug');
    // The front end's `GET /leader` before its first election (what `npm start` polls for).
    expect(requestLogLevel(res(503, 'no_leader'))).toBe('debug');
    // A 503 without a refusal code (no replica reachable, a failed health check) is still an error…
    expect(requestLogLevel(res(503))).toBe('error');
    expect(requestLogLevel(res(503, 'something_else'))).toBe('error');
    // …and a refusal code on another status changes nothing.
    expect(requestLogLevel(res(500, 'not_ready'))).toBe('error');
    expect(requestLogLevel(res(409), new Error('aborted'))).toBe('error');
  });

  it("logs Nest's route-mapping lines at debug, everything else at its own level", () => {
    const written = (level: 'info' | 'debug') => {
      const lines: { level: number; msg: string; context?: string }[] = [];
      const sink = { write: (line: string) => void lines.push(JSON.parse(line)) };
      const logger = createRootLogger('t', level, false, sink);
      logger.info({ context: 'RouterExplorer' }, 'Mapped {/stocks, GET} route');
      logger.info({ context: 'RoutesResolver' }, 'StocksController {/}:');
      logger.info({ context: 'Bootstrap' }, 'listening');
      logger.warn({ context: 'RouterExplorer' }, 'a warning stays a warning');
      return lines.map((l) => [l.level, l.msg]);
    };
    expect(written('info')).toEqual([[30, 'listening'], [40, 'a warning stays a warning']]);
    expect(written('debug')).toEqual([
      [20, 'Mapped {/stocks, GET} route'],
      [20, 'StocksController {/}:'],
      [30, 'listening'],
      [40, 'a warning stays a warning'],
    ]);
    expect(lineLevel(30, { context: 'RouterExplorer' })).toBe('debug');
    expect(lineLevel(30, { context: 'RoutesResolver' })).toBe('debug');
    expect(lineLevel(30, { context: 'InstanceLoader' })).toBe('debug');
    expect(lineLevel(50, { context: 'NestApplication' })).toBeUndefined();
    expect(lineLevel(30, { context: 'Bootstrap' })).toBeUndefined();
    expect(lineLevel(40, { context: 'RouterExplorer' })).toBeUndefined();
    expect(lineLevel(30, 'a message')).toBeUndefined();
  });

  it('is pretty on a terminal or when asked, JSON otherwise', () => {
    expect(prettyLogs('auto', true)).toBe(true);
    expect(prettyLogs('auto', false)).toBe(false);
    expect(prettyLogs('pretty', false)).toBe(true);
    expect(prettyLogs('json', true)).toBe(false);
  });

  it('maps every LOG_LEVEL to a pino level', () => {
    expect(PINO_LEVELS).toEqual({ error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' });
  });
});

describe('request log', () => {
  const run = (status: number, aborted: boolean, enabled: string[] = ['info', 'warn', 'error'], failure?: AnsweredFailure, url = '/orders') => {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      isLevelEnabled: (l: string) => enabled.includes(l),
      ...Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg })])),
    } as unknown as PinoInstance;
    const req = { method: 'POST', url } as unknown as IncomingMessage;
    const res = { statusCode: status } as ServerResponse;
    if (failure) noteFailure(res, failure);
    requestLog(logger).finished({ req, res, id: 'abc-1', seconds: 0.0123, aborted });
    return lines;
  };

  it('logs a finished request with its id, at the level its status calls for', () => {
    expect(run(400, false)).toEqual([
      {
        level: 'info',
        msg: 'request completed',
        obj: { reqId: 'abc-1', req: { id: 'abc-1', method: 'POST', url: '/orders' }, res: { statusCode: 400 }, responseTime: 12 },
      },
    ]);
    expect(run(409, false)).toHaveLength(0);
    expect(run(409, false, ['debug'])).toEqual([expect.objectContaining({ level: 'debug', msg: 'request completed' })]);
  });

  it("carries the failure's message, so that a 503 in the log says why", () => {
    expect(run(503, false, ['error'], { status: 503, message: 'catalog unreachable: read ECONNRESET' })).toEqual([
      expect.objectContaining({ level: 'error', obj: expect.objectContaining({ err: { message: 'catalog unreachable: read ECONNRESET' } }) }),
    ]);
  });

  it('skips successes unless debug is on, and logs an aborted request as a warning, not an error (any client can hang up)', () => {
    expect(run(200, false)).toHaveLength(0);
    expect(run(200, false, ['debug'])[0].level).toBe('debug');
    expect(run(200, true)).toEqual([expect.objectContaining({ level: 'warn', msg: 'request aborted' })]);
    expect(run(200, true, ['error'])).toHaveLength(0);
  });

  it("cuts a long URL and a long failure message to 512 characters, saying how long they were", () => {
    const url = `/nope/${'A'.repeat(15_000)}`;
    const [line] = run(404, false, undefined, { status: 404, message: `Cannot GET ${url}` }, url);
    const logged = line.obj as { req: { url: string }; err: { message: string } };
    expect(logged.req.url).toBe(`${url.slice(0, 512)}… (15006 characters)`);
    expect(logged.err.message).toBe(`Cannot GET ${url}`.slice(0, 512) + '… (15017 characters)');
    expect(JSON.stringify(line).length).toBeLessThan(1400);
  });
});
