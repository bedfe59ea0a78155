import { InvalidInput, StockNotFound, TradeRefused } from '../errors';
import { reasonOf } from './error-filter';
import { definiteRefusal } from './refusals';

describe('definiteRefusal', () => {
  const texts = { notFound: 'Stock not found', refused: 'Trade failed!', invalid: 'invalid trade' };

  it('maps 404, 409 and 400 to the domain errors every hop answers with', () => {
    expect(definiteRefusal(404, {}, texts)).toEqual(new StockNotFound('Stock not found'));
    expect(definiteRefusal(409, {}, texts)).toEqual(new TradeRefused('Trade failed!'));
    expect(definiteRefusal(400, { message: 'quantity must be positive' }, texts)).toEqual(new InvalidInput('quantity must be positive'));
    expect(definiteRefusal(400, {}, texts)).toEqual(new InvalidInput('invalid trade'));
  });

  it("keeps a refused trade's reason", () => {
    const refused = definiteRefusal(409, { reason: 'no_shares' }, texts)!;
    expect(refused.status).toBe(409);
    expect(reasonOf(refused)).toBe('no_shares');
    expect(reasonOf(definiteRefusal(409, {}, texts)!)).toBeUndefined();
  });

  it('leaves success and answers that are not definite to the caller', () => {
    for (const status of [200, 422, 429, 500, 503]) expect(definiteRefusal(status, { message: 'x' }, texts)).toBeUndefined();
  });
});
