import { BadRequestException } from '@nestjs/common';
import { MAX_INPUT_DEPTH, OrderQueryDto, PlaceOrderDto, StockQueryDto } from '@app/contracts';
import { shapeOf } from './error-filter';
import { createValidationPipe, nestedDeeperThan } from './validation.pipe';

/** Regressions found by test/fuzz.e2e-spec.ts. */
describe('validation pipe', () => {
  const body = { type: 'body' as const, metatype: PlaceOrderDto, data: '' };

  it('measures nesting without recursion', () => {
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: [] }] }, 3)).toBe(true);
    expect(nestedDeeperThan('x', 0)).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestedDeeperThan(deep, MAX_INPUT_DEPTH)).toBe(true);
  });

  it('refuses a deeply nested body with 400 before class-transformer recurses into it', async () => {
    const pipe = createValidationPipe();
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    await expect(pipe.transform({ stock_name: deep, trade_type: 'buy', quantity: 1 }, body)).rejects.toThrow(BadRequestException);
    await expect(pipe.transform(deep, body)).rejects.toThrow(/nested more than/);
  });

  it('still validates ordinary bodies', async () => {
    await expect(pipe().transform({ stock_name: 'Stock1', trade_type: 'buy', quantity: '2' }, body)).resolves.toMatchObject({ quantity: 2 });
    await expect(pipe().transform({ stock_name: 'Stock1', trade_type: 'buy', quantity: 0 }, body)).rejects.toThrow(BadRequestException);
  });

  it('remembers a valid query DTO (the same frozen instance for the same raw query), never an invalid one or a body', async () => {
    const p = pipe();
    const query = { type: 'query' as const, metatype: OrderQueryDto, data: undefined };
    const first = await p.transform({ order_no: '12' }, query);
    expect(first).toBeInstanceOf(OrderQueryDto);
    expect(first).toEqual({ order_no: 12 });
    expect(Object.isFrozen(first)).toBe(true);
    expect(await p.transform({ order_no: '12' }, query)).toBe(first);
    expect(await p.transform({ order_no: '13' }, query)).toEqual({ order_no: 13 });
    // Per DTO class: the same raw query validated as another DTO is validated afresh.
    await expect(p.transform({ order_no: '12' }, { ...query, metatype: StockQueryDto })).rejects.toThrow(BadRequestException);
    for (let i = 0; i < 2; i++) await expect(p.transform({ order_no: '0' }, query)).rejects.toThrow(BadRequestException);
    const b1 = await p.transform({ stock_name: 'Stock1', trade_type: 'buy', quantity: 2 }, body);
    const b2 = await p.transform({ stock_name: 'Stock1', trade_type: 'buy', quantity: 2 }, body);
    expect(b1).not.toBe(b2);
    expect(Object.isFrozen(b1)).toBe(false);
  });

  it('names a missing stock_name as required, and a present but malformed one as malformed', async () => {
    const p = createValidationPipe();
    const query = { type: 'query' as const, metatype: StockQueryDto, data: undefined };
    await expect(p.transform({}, query)).rejects.toThrow('stock_name is required');
    await expect(p.transform({ stock_name: '' }, query)).rejects.toThrow('stock_name is malformed');
    await expect(p.transform({ stock_name: ['A', 'B'] }, query)).rejects.toThrow('stock_name must be a single string');
    await expect(p.transform({ stock_name: 'Stock1' }, query)).resolves.toEqual({ stock_name: 'Stock1' });
  });

  it('finds a route\'s failure shape the way Express routes: any letter case, trailing slashes, a query string', () => {
    const shapes = { 'POST /orders': 'order' as const };
    expect(shapeOf(shapes, 'POST', '/orders')).toBe('order');
    expect(shapeOf(shapes, 'POST', '/ORDERS/')).toBe('order');
    expect(shapeOf(shapes, 'post', '/Orders?x=1')).toBe('order');
    expect(shapeOf(shapes, 'GET', '/orders')).toBe('error');
    expect(shapeOf(shapes, 'POST', '/orders/x')).toBe('error');
  });
});

function pipe() {
  return createValidationPipe();
}
