import { BloomFilter } from 'bloomfilter';

/** The false-positive rate of a filter holding as many values as it was sized for. */
const FALSE_POSITIVE_RATE = 0.01;
/** The smallest filter sized: 100,000 values, about 120 KiB. */
export const MIN_KEY_FILTER_CAPACITY = 100_000;

/** A Bloom filter and how many values went into it, against how many it was sized for. */
export class SizedKeyFilter {
  private readonly bloom: BloomFilter;
  private added = 0;

  constructor(readonly capacity: number) {
    this.bloom = BloomFilter.withTargetError(Math.max(capacity, 1), FALSE_POSITIVE_RATE);
  }

  /** Adds an entry's request id, and its client key when that differs. */
  addEntry(requestId: string, key: string | null | undefined): void {
    this.add(requestId);
    if (key && key !== requestId) this.add(key);
  }

  private add(value: string): void {
    this.bloom.add(value);
    this.added++;
  }

  test(value: string): boolean {
    return this.bloom.test(value);
  }

  get overfull(): boolean {
    return this.added > this.capacity;
  }
}

/**
 * Which request ids and client keys the order log certainly does not hold, answered from memory:
 * a Bloom filter of every value of its `request_id` and `idempotency_key` columns, as LSM stores
 * keep one in front of each file. A trade's key lookup asks SQLite only about a key the filter may
 * hold, which a new key — nearly every trade's — is not.
 *
 * It is exact in one direction: {@link mayHold} false means no entry has that value. It answers
 * true for everything until a filter has been filled from the log ({@link begin}, then
 * {@link finish}). Values are added before the write that stores them, so a write in flight or
 * one that failed costs at most a query, never a wrong "absent".
 *
 * Filling: {@link begin} starts a new filter, which every value added from then on also goes to;
 * the caller then adds every value already in the log to it, and {@link finish} puts it in use.
 * Starting it while no write is in flight (under the log's lock) is what makes it complete: an
 * entry is either on disk for the scan to read, or added as it is written. When the filter in use
 * holds more values than it was sized for ({@link overfull}: its false positives grow), a larger
 * one is filled the same way while this one keeps answering.
 */
export class LogKeyFilter {
  private current?: SizedKeyFilter;
  private next?: SizedKeyFilter;

  /** True once a filter filled from the whole log is in use. */
  get ready(): boolean {
    return this.current !== undefined;
  }

  /** The filter in use holds more values than it was sized for, and no larger one is being filled. */
  get overfull(): boolean {
    return (this.current?.overfull ?? false) && this.next === undefined;
  }

  /** Adds an entry's request id and client key (to the filter in use, and to one being filled). */
  addEntry(requestId: string, key: string | null | undefined): void {
    this.current?.addEntry(requestId, key);
    this.next?.addEntry(requestId, key);
  }

  /** False: no entry has this request id or client key. True: one may (ask the database). */
  mayHold(value: string): boolean {
    return this.current?.test(value) ?? true;
  }

  /** Starts filling a new filter for `capacity` values (see the class); the caller adds the log's entries to it. */
  begin(capacity: number): SizedKeyFilter {
    this.next = new SizedKeyFilter(Math.max(capacity, MIN_KEY_FILTER_CAPACITY));
    return this.next;
  }

  /** The log's entries are all in `filter`: it answers from now on. */
  finish(filter: SizedKeyFilter): void {
    if (this.next !== filter) return;
    this.current = filter;
    this.next = undefined;
  }

  /** Filling `filter` failed: it is dropped, and the filter in use (if any) goes on answering. */
  abandon(filter: SizedKeyFilter): void {
    if (this.next === filter) this.next = undefined;
  }
}
