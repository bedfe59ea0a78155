import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as PinoInstance } from 'pino';
import { PINO_LEVELS, prettyLogs, requestLog, requestLogLevel } from './logging.module';

describe('logging', () => {
  it('logs server errors always, client errors at info and successes at debug', () => {
    const res = (statusCode: number) => ({ statusCode }) as ServerResponse;
    expect(requestLogLevel(res(200))).toBe('debug');
    expect(requestLogLevel(res(409))).toBe('info');
    expect(requestLogLevel(res(503))).toBe('error');
    expect(requestLogLevel(res(200), new Error('aborted'))).toBe('error');
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
  const run = (status: number, aborted: boolean, enabled: string[] = ['info', 'error']) => {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      isLevelEnabled: (l: string) => enabled.includes(l),
      ...Object.fromEntries(['debug', 'info', 'error'].map((level) => [level, (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg })])),
    } as unknown as PinoInstance;
    const req = { method: 'POST', url: '/orders' } as unknown as IncomingMessage;
    const res = { statusCode: status } as ServerResponse;
    requestLog(logger).finished({ req, res, id: 'abc-1', seconds: 0.0123, aborted });
    return lines;
  };

  it('logs a finished request with its id, at the level its status calls for', () => {
    expect(run(409, false)).toEqual([
      {
        level: 'info',
        msg: 'request completed',
        obj: { reqId: 'abc-1', req: { id: 'abc-1', method: 'POST', url: '/orders' }, res: { statusCode: 409 }, responseTime: 12 },
      },
    ]);
  });

  it('skips successes unless debug is on, and logs an aborted request as an error', () => {
    expect(run(200, false)).toHaveLength(0);
    expect(run(200, false, ['debug'])[0].level).toBe('debug');
    expect(run(200, true)).toEqual([expect.objectContaining({ level: 'error', msg: 'request aborted' })]);
  });
});
