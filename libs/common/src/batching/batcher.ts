/**
 * Per-item outcome of a batch: the item's value, or the error that item alone failed with.
 * A flush that throws fails every item of its batch with that error.
 */
export type BatchOutcome<O> = O | Error;

export interface BatcherOptions {
  /** Most items in one flush; the rest wait for the next. */
  maxBatch: number;
  /** Most flushes under way at once (1: each flush carries everything queued while the last one ran). */
  maxInFlight?: number;
}

interface Queued<I, O> {
  item: I;
  requestId: string | undefined;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit / request coalescing. Callers {@link submit} one item at a time and get that
 * item's own outcome; underneath, items are handed to `flush` in batches, in submission order.
 *
 * A flush starts on the next turn of the event loop (`setImmediate`, so that items submitted
 * together — the trades of one incoming batch — travel together) when fewer than `maxInFlight`
 * are under way, and otherwise as soon as one ends, taking everything queued meanwhile. An idle
 * system thus adds no delay, while under load one transaction, one HTTP request or one fsync
 * serves many callers: the batch size grows with the load by itself, with no timer to tune.
 *
 * Guarantee relied on by callers: a flush only ever carries items submitted before it started.
 * (An invalidation submitted once a trade is decided is thus pushed by a flush that began after the decision.)
 */
export class Batcher<I, O> {
  private readonly queue: Queued<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;

  constructor(
    /** `requestId`: the first request id the batch's items came with, for the hop the batch makes. */
    private readonly flush: (items: I[], requestId: string | undefined) => Promise<BatchOutcome<O>[]>,
    private readonly options: BatcherOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  /** Nothing queued and no flush under way. */
  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0 && !this.scheduled;
  }

  /** `requestId`: the id of the request this item serves; a batch's hop carries its first item's. */
  submit(item: I, requestId?: string): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, requestId, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async run(batch: Queued<I, O>[]): Promise<void> {
    let outcomes: BatchOutcome<O>[];
    try {
      outcomes = await this.flush(
        batch.map((q) => q.item),
        batch.find((q) => q.requestId !== undefined)?.requestId,
      );
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => {
      const outcome = outcomes[i];
      if (outcome instanceof Error) q.reject(outcome);
      else if (i >= outcomes.length) q.reject(new Error(`batch flush returned ${outcomes.length} outcomes for ${batch.length} items`));
      else q.resolve(outcome);
    });
  }
}
