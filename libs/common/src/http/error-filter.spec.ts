import { jest } from '@jest/globals';
import { BadRequestException, HttpException, Logger, NotFoundException } from '@nestjs/common';
import { StockNotFound, TradeRefused, Unavailable } from '../errors';
import { describeFailure, shapeFailure } from './error-filter';

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
});
