import { Logger } from '@nestjs/common';
import type { BatchItemResult } from '@app/contracts';
import { describeFailure } from '../http/error-filter';

const logger = new Logger('Batch');

/**
 * Settles the items of an internal batch independently: each becomes the status and body fields
 * its single-item endpoint would have answered — `ok(value)` on success, the domain error's
 * status, message and code on failure (an unexpected error is logged and becomes a 500).
 */
export async function batchResults<T>(items: Promise<T>[], ok: (value: T) => BatchItemResult): Promise<BatchItemResult[]> {
  const settled = await Promise.allSettled(items);
  return settled.map((s) => {
    if (s.status === 'fulfilled') return ok(s.value);
    const { status, message, code } = describeFailure(s.reason, logger);
    return code ? { status, message, code } : { status, message };
  });
}
