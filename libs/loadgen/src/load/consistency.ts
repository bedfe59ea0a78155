import type { OrderInfo } from '@app/contracts';
import { acknowledgedByNumber, judgeReadBack } from '@app/verify';

/** What the client sent for an order the bazaar acknowledged. */
export interface SentOrder {
  stock_name: string;
  trade_type: string;
  quantity: number;
  idempotency_key?: string;
  session?: number;
}

/** The outcome of reading one order back with `GET /orders?order_no=N`. */
export type OrderReadBack =
  | { kind: 'found'; order: OrderInfo }
  | { kind: 'missing' }
  /** No answer that says either way: transport failure, 5xx, malformed body. */
  | { kind: 'error'; reason: string };

export type OrderProblemKind = 'mismatch' | 'missing' | 'duplicate' | 'unchecked';

/** One order that did not check out, for the report. */
export interface OrderProblem {
  order_no: number;
  problem: OrderProblemKind;
  sent: SentOrder;
  /** What the bazaar returned (mismatch). */
  got?: OrderInfo;
  /** Fields that differ (mismatch). */
  fields?: string[];
  /** Why the order could not be checked (unchecked), or the other trade given the same number (duplicate). */
  reason?: string;
}

export interface ConsistencyReport {
  /** Distinct order numbers acknowledged during the run. */
  recorded: number;
  /** Orders read back with a definite answer (found or not found). */
  checked: number;
  matched: number;
  /** Orders whose stored data differs from what was sent, plus order numbers handed out twice. */
  mismatches: number;
  /** Acknowledged orders the bazaar says do not exist. */
  missing: number;
  /** Order numbers acknowledged for two different trades (also counted in `mismatches`). */
  duplicates: number;
  /** Orders that could not be read back (their request failed; counted as order-check errors). */
  unchecked: number;
  /** The first problems found, in order-number order (bounded by `maxDetails`). */
  details: OrderProblem[];
}

/**
 * Orders acknowledged during a run, by order number. An order number acknowledged twice for
 * different trades is a consistency violation and is kept aside as a duplicate.
 */
export class OrderLedger {
  private readonly acks: [number, SentOrder][] = [];
  private readonly numbers = new Set<number>();

  /** Records an acknowledged order; returns false when the number was already used. */
  record(orderNo: number, sent: SentOrder): boolean {
    this.acks.push([orderNo, sent]);
    if (this.numbers.has(orderNo)) return false;
    this.numbers.add(orderNo);
    return true;
  }

  get size(): number {
    return this.numbers.size;
  }

  /** Every order acknowledged under a number already given, with the order first given it. */
  get duplicates(): { order_no: number; sent: SentOrder; first: SentOrder }[] {
    return [...acknowledgedByNumber(this.acks)].flatMap(([order_no, [first, ...again]]) => again.map((sent) => ({ order_no, sent, first })));
  }

  /** The recorded orders (each number's first), by ascending order number. */
  entries(): [number, SentOrder][] {
    return [...acknowledgedByNumber(this.acks)].map(([no, [first]]): [number, SentOrder] => [no, first]).sort((a, b) => a[0] - b[0]);
  }
}

export interface CheckOptions {
  /** Read-backs in flight at once. */
  concurrency: number;
  /** Most problems listed in the report's `details`. */
  maxDetails?: number;
  /** Called after each order is read back (for progress). */
  onChecked?: (done: number, total: number) => void;
}

/**
 * Reads every recorded order back and compares it with what was sent. `readBack` performs
 * the request (and its measurement); this function only decides what each answer means.
 */
export async function checkConsistency(
  ledger: OrderLedger,
  readBack: (orderNo: number) => Promise<OrderReadBack>,
  options: CheckOptions,
): Promise<ConsistencyReport> {
  const maxDetails = options.maxDetails ?? 20;
  const entries = ledger.entries();
  const duplicates = ledger.duplicates;
  const problems: OrderProblem[] = duplicates.map((d) => ({
    order_no: d.order_no,
    problem: 'duplicate' as const,
    sent: d.sent,
    reason: `order number already acknowledged for ${describeSentOrder(d.first)}`,
  }));
  const report: ConsistencyReport = {
    recorded: entries.length,
    checked: 0,
    matched: 0,
    mismatches: duplicates.length,
    missing: 0,
    duplicates: duplicates.length,
    unchecked: 0,
    details: [],
  };

  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const [orderNo, sent] = entries[next++];
      const outcome = await readBack(orderNo);
      if (outcome.kind === 'error') {
        report.unchecked++;
        problems.push({ order_no: orderNo, problem: 'unchecked', sent, reason: outcome.reason });
      } else {
        report.checked++;
        const got = outcome.kind === 'found' ? outcome.order : undefined;
        const judged = judgeReadBack(orderNo, sent, got);
        if (judged.verdict === 'match') {
          report.matched++;
        } else if (judged.verdict === 'missing') {
          report.missing++;
          problems.push({ order_no: orderNo, problem: 'missing', sent });
        } else {
          report.mismatches++;
          problems.push({ order_no: orderNo, problem: 'mismatch', sent, got, fields: judged.fields });
        }
      }
      options.onChecked?.(++done, entries.length);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, entries.length));
  await Promise.all(Array.from({ length: workers }, worker));

  report.details = problems.sort((a, b) => a.order_no - b.order_no).slice(0, maxDetails);
  return report;
}

/** `buy 3 Stock1`, for messages. */
export function describeSentOrder(sent: SentOrder): string {
  return `${sent.trade_type} ${sent.quantity} ${sent.stock_name}`;
}
