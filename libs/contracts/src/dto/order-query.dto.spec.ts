import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { OrderQueryDto } from './order-query.dto';

const check = (order_no: unknown) => {
  const dto = plainToInstance(OrderQueryDto, { order_no });
  return { dto, errors: validateSync(dto, { stopAtFirstError: true }).flatMap((e) => Object.values(e.constraints ?? {})) };
};

describe('OrderQueryDto', () => {
  // 16 digits were refused as malformed (400) though the contract allows up to 2^53 − 1.
  it.each([
    ['1', 1],
    ['0042', 42],
    ['999999999999999', 999_999_999_999_999],
    ['1000000000000000', 1_000_000_000_000_000],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['00000000000000000001', 1],
  ])('reads %p as the order number %p', (raw, expected) => {
    const { dto, errors } = check(raw);
    expect(errors).toEqual([]);
    expect(dto.order_no).toBe(expected);
  });

  it.each(['9007199254740992', '9007199254740993', '18446744073709551616', '9'.repeat(400)])('refuses %p as too large', (raw) => {
    expect(check(raw).errors).toEqual(['order_no is too large']);
  });

  it.each(['0', '-1', '1.5', 'abc', '1e1', '0x1', '', ' 1'])('refuses %p as not a positive integer', (raw) => {
    expect(check(raw).errors).toEqual(['order_no must be a positive integer']);
  });
});
