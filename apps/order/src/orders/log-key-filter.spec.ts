import { LogKeyFilter, MIN_KEY_FILTER_CAPACITY } from './log-key-filter';

/** Fills a filter with these entries (as the log's scan would) and puts it in use. */
function filled(entries: [string, string?][], capacity = 0): LogKeyFilter {
  const keys = new LogKeyFilter();
  const filter = keys.begin(capacity);
  for (const [id, key] of entries) filter.addEntry(id, key);
  keys.finish(filter);
  return keys;
}

describe('LogKeyFilter: which request ids and keys the log certainly lacks', () => {
  it('says "may hold" for every value until a filter filled from the log is in use', () => {
    const keys = new LogKeyFilter();
    keys.addEntry('a', undefined); // an append before any filter: nothing to rule on yet
    expect(keys.ready).toBe(false);
    expect(keys.mayHold('never-added')).toBe(true);
    const filter = keys.begin(10);
    expect(keys.mayHold('never-added')).toBe(true); // still filling
    keys.finish(filter);
    expect(keys.ready).toBe(true);
    expect(keys.mayHold('never-added')).toBe(false);
  });

  it('never rules out a value it was given, request id or client key, and rules out nearly all others', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `order-${i}`);
    const keys = filled(ids.map((id, i): [string, string?] => [id, i % 10 === 0 ? `client-key-${i}` : id]), ids.length);
    expect(ids.filter((id) => !keys.mayHold(id))).toEqual([]);
    expect(ids.filter((_, i) => i % 10 === 0 && !keys.mayHold(`client-key-${i}`))).toEqual([]);
    const strangers = Array.from({ length: 20_000 }, (_, i) => `stranger-${i}`);
    // Sized for 1 % false positives; a failure here would be a broken filter, not bad luck (mean 200, sd 14).
    expect(strangers.filter((v) => keys.mayHold(v)).length).toBeLessThan(400);
  });

  it('adds values appended while a new filter is filled to both, so the new one misses nothing written meanwhile', () => {
    const keys = filled([['old']]);
    const next = keys.begin(10);
    keys.addEntry('during', 'during-key'); // appended while the scan runs
    next.addEntry('old', undefined); // what the scan read
    expect(keys.mayHold('during')).toBe(true); // the filter in use has it already
    keys.finish(next);
    for (const v of ['old', 'during', 'during-key']) expect(keys.mayHold(v)).toBe(true);
    expect(keys.mayHold('never')).toBe(false);
  });

  it('asks for a larger filter once it holds more values than it was sized for, and not again while one is filled', () => {
    const keys = filled([], 1);
    for (let i = 0; i < MIN_KEY_FILTER_CAPACITY; i++) keys.addEntry(`v${i}`, undefined);
    expect(keys.overfull).toBe(false);
    keys.addEntry('one-more', undefined);
    expect(keys.overfull).toBe(true);
    const next = keys.begin(4 * MIN_KEY_FILTER_CAPACITY);
    expect(keys.overfull).toBe(false); // being replaced
    keys.abandon(next); // the fill failed: the old one answers on, and is still overfull
    expect(keys.overfull).toBe(true);
    expect(keys.mayHold('one-more')).toBe(true);
    expect(keys.mayHold('v0')).toBe(true);
  });

  it('ignores the end of a fill that was superseded or abandoned', () => {
    const keys = new LogKeyFilter();
    const first = keys.begin(10);
    keys.abandon(first);
    keys.finish(first);
    expect(keys.ready).toBe(false);
    const second = keys.begin(10);
    const third = keys.begin(10);
    keys.finish(second);
    expect(keys.ready).toBe(false);
    keys.finish(third);
    expect(keys.ready).toBe(true);
  });
});
