import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { InvalidateBatchDto } from './batch.dto';

const errorsOf = (body: object) => validateSync(plainToInstance(InvalidateBatchDto, body)).flatMap((e) => Object.values(e.constraints ?? {}));

describe('InvalidateBatchDto (the catalog\'s POST /rm)', () => {
  it.each([[undefined], [[0, 12]], [[Number.MAX_SAFE_INTEGER, 1]]])('accepts the trade volumes %p', (trade_volumes) => {
    expect(errorsOf({ stock_names: ['Stock1', 'Stock2'], trade_volumes })).toEqual([]);
  });

  // The same volumes a lease grant's trade_volumes may hold (see the front end's grantVolumes): a
  // volume beyond the safe integers would raise the stock's floor past every real volume.
  it.each([[[1e300, 1]], [[2 ** 53, 1]], [[-1, 1]], [[1.5, 1]], [['3', 1]], [[1]]])('rejects the trade volumes %p', (trade_volumes) => {
    expect(errorsOf({ stock_names: ['Stock1', 'Stock2'], trade_volumes }).length).toBeGreaterThan(0);
  });
});
