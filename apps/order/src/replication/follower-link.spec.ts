import { monotonicNow } from '@app/common';
import { MAX_BODY_BYTES, OrderRecordDto, SyncDto } from '@app/contracts';
import { logEntry } from '@app/testkit/fixtures';
import type { PeersClient } from '../cluster/peers.client';
import type { OrderLogService } from '../orders/order-log.service';
import { FollowerLink, fitSyncBody, LinkContext, MAX_ORDER_JSON_BYTES } from './follower-link';

/**
 * An order as large as the contract allows: a 128-character request id and key, each nearly all
 * backslashes or quotes (escaped to 2 bytes each in JSON), a 64-character stock name.
 */
function largest(order_no: number): OrderRecordDto {
  return {
    order_no: 9_000_000_000_000_000 + order_no,
    epoch: Number.MAX_SAFE_INTEGER,
    request_id: `r${String(order_no).padStart(127, '\\')}`,
    idempotency_key: `k${String(order_no).padStart(127, '"')}`,
    stock_name: 'S'.repeat(64),
    trade_type: 'SELL',
    quantity: 1_000_000,
    created_at: Number.MAX_SAFE_INTEGER,
  };
}

/** A sync body around `orders`, every other field as large as it gets. */
function body(orders: OrderRecordDto[]): SyncDto {
  const big = Number.MAX_SAFE_INTEGER;
  return { leader: big, epoch: big, commit_no: big, reconciled_seq: big, prev: { order_no: big, epoch: big }, orders };
}

describe('fitSyncBody', () => {
  it('bounds one order by MAX_ORDER_JSON_BYTES', () => {
    expect(Buffer.byteLength(JSON.stringify(largest(1)))).toBeLessThanOrEqual(MAX_ORDER_JSON_BYTES);
    expect(Buffer.byteLength(JSON.stringify(largest(1)))).toBeGreaterThan(MAX_ORDER_JSON_BYTES - 100);
  });

  it('keeps a sync of the largest orders within the body limit, as many as fit', () => {
    const orders = Array.from({ length: 1000 }, (_, i) => largest(i + 1));
    const fitted = fitSyncBody(orders);
    expect(fitted.length).toBeGreaterThan(50);
    expect(fitted.length).toBeLessThan(200); // 200 of these would be refused: SYNC_BATCH_SIZE's default
    expect(Buffer.byteLength(JSON.stringify(body(fitted)))).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(Buffer.byteLength(JSON.stringify(body(orders.slice(0, fitted.length + 2))))).toBeGreaterThan(MAX_BODY_BYTES - 1024);
    expect(fitted).toEqual(orders.slice(0, fitted.length));
  });

  it('sends ordinary orders whole, up to the page asked for', () => {
    const orders = Array.from({ length: 200 }, (_, i) => logEntry(i + 1));
    expect(fitSyncBody(orders)).toBe(orders);
    expect(fitSyncBody([])).toEqual([]);
  });

  it('always sends at least one order', () => {
    const huge = { ...logEntry(1), request_id: 'x'.repeat(MAX_BODY_BYTES) };
    const rest = Array.from({ length: 100 }, (_, i) => logEntry(i + 2));
    expect(fitSyncBody([huge, ...rest])).toEqual([huge]);
  });
});

describe('FollowerLink: how long a sync has awaited its answer', () => {
  /** A link to follower 2 of an empty log, whose syncs are answered when the test says. */
  function link() {
    const answers: ((res: { status: number; data: unknown }) => void)[] = [];
    const failures: ((err: Error) => void)[] = [];
    const peers = {
      sync: () =>
        new Promise((resolve, reject) => {
          answers.push(resolve);
          failures.push(reject);
        }),
    } as unknown as PeersClient;
    const entries: OrderRecordDto[] = [];
    const log = {
      lastPosition: () => ({ order_no: entries.length, epoch: entries.length ? 1 : 0 }),
      page: async (after: number, limit: number) => entries.slice(after, after + limit),
      find: async (n: number) => entries[n - 1] ?? null,
      getMeta: () => 0,
    } as unknown as OrderLogService;
    const failed: FollowerLink[] = [];
    const hooks: { accepted?: () => void } = {};
    const ctx: LinkContext = {
      leaderId: 3,
      epoch: 1,
      batchSize: 10,
      log,
      peers,
      current: () => true,
      commitNo: () => 0,
      accepted: () => hooks.accepted?.(),
      staleEpoch: async () => undefined,
      failed: (l) => failed.push(l),
    };
    return { link: new FollowerLink({ id: 2, url: 'http://127.0.0.1:1' }, 1, ctx), answers, failures, failed, entries, hooks };
  }

  it('is 0 with no sync under way, the time since it was sent while one is, and 0 once answered', async () => {
    const { link: l, answers } = link();
    expect(l.pendingMs()).toBe(0);
    const push = l.pump();
    await Promise.resolve();
    expect(answers).toHaveLength(1);
    const sent = monotonicNow();
    expect(l.pendingMs(sent + 1500)).toBeGreaterThanOrEqual(1500 - 50);
    answers[0]({ status: 200, data: { last_no: 0 } });
    await push;
    expect(l.pendingMs()).toBe(0);
    expect(l.lastContact).toBeGreaterThan(0);
  });

  it('is 0 again once the sync failed; the failure is recorded and told to the leader', async () => {
    const { link: l, failures, failed } = link();
    const push = l.pump();
    await Promise.resolve();
    expect(l.pendingMs(monotonicNow() + 10)).toBeGreaterThan(0);
    failures[0](new Error('connect ECONNREFUSED'));
    await push;
    expect(l.pendingMs()).toBe(0);
    expect(l.lastContact).toBe(0);
    expect(l.suspectSince).toBeGreaterThan(0);
    expect(failed).toEqual([l]);
  });

  it('sends an entry appended as its push was ending (a pump shares that push) at once, not on the next pump', async () => {
    const { link: l, answers, entries, hooks } = link();
    entries.push(logEntry(1));
    const push = l.pump();
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toHaveLength(1);
    // Right after the follower's answer, before the push is over: a new entry and its pump.
    hooks.accepted = () =>
      queueMicrotask(() => {
        entries.push(logEntry(2));
        void l.pump();
      });
    answers[0]({ status: 200, data: { last_no: 1 } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toHaveLength(2);
    hooks.accepted = undefined;
    answers[1]({ status: 200, data: { last_no: 2 } });
    await push;
    expect(l.matchNo).toBe(2);
  });

  it('records a refused sync as a failure, and clears it once a sync is accepted', async () => {
    const { link: l, answers, failed } = link();
    let push = l.pump();
    await Promise.resolve();
    answers[0]({ status: 503, data: { code: 'not_ready' } });
    await push;
    expect(l.suspectSince).toBeGreaterThan(0);
    expect(failed).toEqual([l]);
    push = l.pump();
    await Promise.resolve();
    answers[1]({ status: 200, data: { last_no: 0 } });
    await push;
    expect(l.suspectSince).toBe(0);
    expect(failed).toHaveLength(1);
  });
});
