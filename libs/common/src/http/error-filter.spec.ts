import { jest } from '@jest/globals';
import { ArgumentsHost, BadRequestException, HttpException, Logger, NotFoundException } from '@nestjs/common';
import express from 'express';
import { StockNotFound, TradeRefused, Unavailable } from '../errors';
import { allowedMethods, describeFailure, resultWithReason, ShapedErrorFilter, shapeFailure, shapeOfPath, withReason } from './error-filter';

const logger = new Logger('spec');

describe('error shapes', () => {
  it('maps domain errors to their status and message', () => {
    expect(describeFailure(new TradeRefused(), logger)).toMatchObject({ status: 409, message: 'Trade failed!' });
    expect(describeFailure(new StockNotFound('Stock not found!'), logger)).toEqual({ status: 404, message: 'Stock not found!', code: undefined });
    expect(describeFailure(new Unavailable('busy', 'not_leader'), logger)).toEqual({ status: 503, message: 'busy', code: 'not_leader' });
  });

  it('joins validation messages into one line', () => {
    expect(describeFailure(new BadRequestException(['a is bad', 'b is bad']), logger)).toMatchObject({ status: 400, message: 'a is bad; b is bad' });
    expect(describeFailure(new NotFoundException('Cannot GET /x'), logger)).toMatchObject({ status: 404 });
  });

  it('keeps body-parser statuses and says what was wrong', () => {
    expect(describeFailure(Object.assign(new Error('x'), { status: 400, type: 'entity.parse.failed' }), logger)).toEqual({
      status: 400,
      message: 'request body is not valid JSON',
    });
    expect(describeFailure(Object.assign(new Error('x'), { status: 413, type: 'entity.too.large' }), logger).status).toBe(413);
    // Nest 12 hands them over wrapped in an HttpException.
    const wrapped = new BadRequestException('Unexpected token', { cause: Object.assign(new SyntaxError('x'), { type: 'entity.parse.failed' }) });
    expect(describeFailure(wrapped, logger)).toEqual({ status: 400, message: 'request body is not valid JSON' });
    const tooLarge = new HttpException('too large', 413, { cause: { type: 'entity.too.large' } });
    expect(describeFailure(tooLarge, logger)).toEqual({ status: 413, message: 'request body is too large (at most 65536 bytes)' });
  });

  it('tells JSON that is not an object from text that is not JSON, and names a body that does not decompress', () => {
    const parseFailed = (body: string) => Object.assign(new SyntaxError('x'), { status: 400, type: 'entity.parse.failed', body });
    for (const body of ['null', '1', '"x"', 'true']) {
      expect(describeFailure(parseFailed(body), logger)).toEqual({ status: 400, message: 'request body must be a JSON object' });
    }
    for (const body of ['{', 'nul', "{'a':1}", '']) {
      expect(describeFailure(parseFailed(body), logger)).toEqual({ status: 400, message: 'request body is not valid JSON' });
    }
    // zlib's and brotli's errors, as body-parser passes them on (400, the error itself).
    for (const [code, text] of [['Z_DATA_ERROR', 'incorrect header check'], ['ERR__ERROR_FORMAT_CL_SPACE', 'Decompression failed']]) {
      expect(describeFailure(Object.assign(new Error(text), { status: 400, code }), logger)).toEqual({
        status: 400,
        message: `request body could not be decompressed as its Content-Encoding says (${text})`,
      });
    }
  });

  it('turns anything else into a 500 without leaking its message', () => {
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    expect(describeFailure(new TypeError('secret detail'), logger)).toEqual({ status: 500, message: 'internal error' });
  });

  it('renders the three seed shapes', () => {
    const f = { status: 409, message: 'Trade failed!' };
    expect(shapeFailure('error', f)).toEqual({ error: { code: 409, message: 'Trade failed!' } });
    expect(shapeFailure('order', f)).toEqual({ order_no: -1, message: 'Trade failed!' });
    expect(shapeFailure('message', f)).toEqual({ message: 'Trade failed!' });
    expect(shapeFailure('message', { ...f, code: 'stale_epoch' })).toEqual({ message: 'Trade failed!', code: 'stale_epoch' });
  });

  it('carries a refused trade\'s reason beside the seed message, in every shape', () => {
    const refused = withReason(new TradeRefused(), 'not enough shares');
    const f = describeFailure(refused, logger);
    expect(f).toEqual({ status: 409, message: 'Trade failed!', code: undefined, reason: 'not enough shares' });
    expect(shapeFailure('order', f)).toEqual({ order_no: -1, message: 'Trade failed!', reason: 'not enough shares' });
    expect(shapeFailure('message', f)).toEqual({ message: 'Trade failed!', reason: 'not enough shares' });
    expect(describeFailure(new TradeRefused(), logger)).not.toHaveProperty('reason');
  });

  it('turns a refusal with a reason into its batch result, and rethrows anything else', () => {
    expect(resultWithReason(withReason(new TradeRefused(), 'over capacity'))).toEqual({ status: 409, message: 'Trade failed!', reason: 'over capacity' });
    const plain = new TradeRefused();
    expect(() => resultWithReason(plain)).toThrow(plain);
    expect(() => resultWithReason(new TypeError('x'))).toThrow(TypeError);
  });
});

describe('ShapedErrorFilter: what a failure on a route adds', () => {
  /** The filter's answer to `exception` on `method path`, with a hook on `POST /orders`. */
  function answer(method: string, path: string, exception: unknown) {
    const headers = new Map<string, string>();
    let sent: { status: number; body: unknown } | undefined;
    const res = {
      headersSent: false,
      setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
      status: (status: number) => ({ json: (body: unknown) => void (sent = { status, body }) }),
    };
    const req = { method, path, route: { path } };
    const host = { switchToHttp: () => ({ getResponse: () => res, getRequest: () => req }) };
    const filter = new ShapedErrorFilter({ 'POST /orders': 'order' }, { 'POST /orders': (_req, r) => void r.setHeader('X-Hooked', 'yes') });
    filter.catch(exception, host as unknown as ArgumentsHost);
    return { ...sent, hooked: headers.get('x-hooked') };
  }

  it('runs the route\'s hook on every failure there, those of the body parser included, and on no other route', () => {
    const unparsed = Object.assign(new Error('x'), { status: 400, type: 'entity.parse.failed' });
    expect(answer('POST', '/orders', unparsed)).toEqual({ status: 400, body: { order_no: -1, message: 'request body is not valid JSON' }, hooked: 'yes' });
    expect(answer('POST', '/Orders/', new HttpException('slow down', 429)).hooked).toBe('yes');
    expect(answer('GET', '/orders', new NotFoundException()).hooked).toBeUndefined();
    expect(answer('POST', '/stocks', unparsed).hooked).toBeUndefined();
  });
});

describe('405: the methods a path has', () => {
  const app = express();
  app.get('/stocks', () => undefined);
  app.get('/orders', () => undefined);
  app.post('/orders', () => undefined);
  app.post('/trade/batch', () => undefined);
  app.all('*path', () => undefined); // a catch-all is no route of a path
  const router = (app as unknown as { router: Parameters<typeof allowedMethods>[0] }).router;

  it('reads them from the Express router, matching as Express does (case, one trailing slash)', () => {
    expect(allowedMethods(router, '/stocks')).toEqual(['GET', 'HEAD']);
    expect(allowedMethods(router, '/Stocks/')).toEqual(['GET', 'HEAD']);
    expect(allowedMethods(router, '/orders')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowedMethods(router, '/trade/batch')).toEqual(['POST']);
  });

  it('has none for a path no route matches', () => {
    for (const path of ['/nope', '/stocks/x', '/trade', '/stocks%2F', '/%ZZ']) expect(allowedMethods(router, path)).toEqual([]);
    expect(allowedMethods(undefined, '/stocks')).toEqual([]);
  });

  it("answers in the shape of the path's own routes", () => {
    const shapes = { 'POST /orders': 'order', 'POST /trade': 'message' } as const;
    expect(shapeOfPath(shapes, ['GET', 'HEAD', 'POST'], '/orders')).toBe('order');
    expect(shapeOfPath(shapes, ['POST'], '/trade')).toBe('message');
    expect(shapeOfPath(shapes, ['GET', 'HEAD'], '/stocks')).toBe('error');
  });
});
