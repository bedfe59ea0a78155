import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as PinoInstance } from 'pino';
import { PINO_LEVELS, prettyLogs, requestLogLevel, requestLogMiddleware } from './logging.module';

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

describe('request log middleware', () => {
  const run = (status: number, end: 'finish' | 'close', enabled: string[] = ['info', 'error']) => {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      isLevelEnabled: (l: string) => enabled.includes(l),
      ...Object.fromEntries(['debug', 'info', 'error'].map((level) => [level, (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg })])),
    } as unknown as PinoInstance;
    const req = { headers: { 'x-request-id': 'abc-1' }, method: 'POST', url: '/orders' } as unknown as IncomingMessage;
    const res = Object.assign(new EventEmitter(), { statusCode: status, headersSent: false, writableFinished: end === 'finish', setHeader: () => undefined });
    let nexted = false;
    requestLogMiddleware(logger)(req, res as unknown as ServerResponse, () => (nexted = true));
    res.emit(end);
    if (end === 'finish') res.emit('close');
    return { lines, nexted };
  };

  it('logs a finished request once, with its id, at the level its status calls for', () => {
    const { lines, nexted } = run(409, 'finish');
    expect(nexted).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request completed', obj: { reqId: 'abc-1', req: { id: 'abc-1', method: 'POST', url: '/orders' }, res: { statusCode: 409 } } });
  });

  it('skips successes unless debug is on, and logs an aborted request as an error', () => {
    expect(run(200, 'finish').lines).toHaveLength(0);
    expect(run(200, 'finish', ['debug']).lines[0].level).toBe('debug');
    const aborted = run(200, 'close').lines;
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ level: 'error', msg: 'request aborted' });
  });
});
