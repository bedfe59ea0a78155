import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { PlaceOrderDto } from './place-order.dto';

const check = (body: object) => {
  const dto = plainToInstance(PlaceOrderDto, body);
  return { dto, errors: validateSync(dto, { stopAtFirstError: true }).flatMap((e) => Object.values(e.constraints ?? {})) };
};

describe('PlaceOrderDto', () => {
  it('accepts any letter case of buy/sell and keeps the spelling', () => {
    const { dto, errors } = check({ stock_name: 'Stock1', trade_type: 'SeLL', quantity: 3 });
    expect(errors).toEqual([]);
    expect(dto.trade_type).toBe('SeLL');
  });

  it('accepts a string of decimal digits as the integer it spells', () => {
    const { dto, errors } = check({ stock_name: 'Stock1', trade_type: 'buy', quantity: '0042' });
    expect(errors).toEqual([]);
    expect(dto.quantity).toBe(42);
  });

  it.each([0, -1, 1.5, '1.5', '-2', '', true, null, 1e30, [3], { n: 3 }])('rejects the quantity %p', (quantity) => {
    expect(check({ stock_name: 'Stock1', trade_type: 'buy', quantity }).errors.length).toBeGreaterThan(0);
  });

  it.each(['hold', '', 'buy '])('rejects the trade type %p', (trade_type) => {
    expect(check({ stock_name: 'Stock1', trade_type, quantity: 1 }).errors).toEqual(['trade_type must be buy or sell']);
  });

  it.each([1, null, ['buy']])('rejects a trade type that is not a string: %p', (trade_type) => {
    expect(check({ stock_name: 'Stock1', trade_type, quantity: 1 }).errors).toEqual(['trade_type must be a string']);
  });

  it.each(['', 'a b', 'x'.repeat(65), '<script>', 5])('rejects the stock name %p', (stock_name) => {
    expect(check({ stock_name, trade_type: 'buy', quantity: 1 }).errors.length).toBeGreaterThan(0);
  });
});
