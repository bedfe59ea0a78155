import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CatalogTradeBatchDto, ReplicaTradeBatchDto } from './batch.dto';
import { LeaderNoticeDto } from './leader-notice.dto';
import { PageQueryDto } from './page-query.dto';
import { SyncDto } from './sync.dto';

/** The first problem found, as the apps' ValidationPipe reports it (stopAtFirstError). */
const firstProblem = (cls: new () => object, plain: object): string[] =>
  validateSync(plainToInstance(cls, plain), { stopAtFirstError: true }).flatMap((e) => Object.values(e.constraints ?? {}));

// A value of the wrong type is said to be of the wrong type, not out of bounds (`limit=abc` said
// "limit must not be greater than 1000").
describe('internal DTOs name the rule a value breaks', () => {
  it.each([
    [PageQueryDto, { limit: 'abc' }, ['limit must be an integer number']],
    [PageQueryDto, { after: '1.5' }, ['after must be an integer number']],
    [PageQueryDto, { limit: '5000' }, ['limit must not be greater than 1000']],
    [LeaderNoticeDto, { leader: 'abc', epoch: 1 }, ['leader must be an integer number']],
    [LeaderNoticeDto, { leader: 1, epoch: '1.5' }, ['epoch must be an integer number']],
    [LeaderNoticeDto, { leader: 1, epoch: '0' }, ['epoch must not be less than 1']],
    [SyncDto, { leader: 'x', epoch: 1, commit_no: 0, reconciled_seq: 0, orders: [] }, ['leader must be an integer number']],
    [CatalogTradeBatchDto, { trades: 'x' }, ['trades must be an array']],
    [CatalogTradeBatchDto, { trades: [] }, ['trades must not be empty']],
    [ReplicaTradeBatchDto, { epoch: 1, trades: { 0: 'x' } }, ['trades must be an array']],
  ] as [new () => object, object, string[]][])('%p %j: %j', (cls, plain, expected) => {
    expect(firstProblem(cls, plain)).toEqual(expected);
  });
});
