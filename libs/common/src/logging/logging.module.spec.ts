import type { ServerResponse } from 'node:http';
import { PINO_LEVELS, prettyLogs, requestLogLevel } from './logging.module';

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
