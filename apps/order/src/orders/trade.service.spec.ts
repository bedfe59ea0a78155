import { REQUEST_ID_PATTERN } from '@app/contracts';
import { derivedRequestId } from './trade.service';

describe('derivedRequestId (a key reused past its retention window)', () => {
  it('is a valid request id, the same on every retry, and new for each reuse', () => {
    const a = derivedRequestId('k'.repeat(128), 7);
    expect(REQUEST_ID_PATTERN.test(a)).toBe(true);
    expect(derivedRequestId('k'.repeat(128), 7)).toBe(a);
    expect(derivedRequestId('k'.repeat(128), 8)).not.toBe(a);
    expect(derivedRequestId('other', 7)).not.toBe(a);
    expect(derivedRequestId('k', 7)).not.toBe('k');
  });
});
