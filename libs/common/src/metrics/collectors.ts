import { Counter, Gauge, Registry } from 'prom-client';

/**
 * Metrics whose values live in the services themselves are read when Prometheus scrapes (the
 * prom-client `collect` hook), so the hot path pays nothing and there is one source of truth.
 */

/** A gauge read at scrape time. */
export function gaugeOf(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A gauge with one series per label value, read at scrape time (series not returned are dropped). */
export function labelledGaugeOf<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  label: L,
  read: () => Iterable<[string, number]>,
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of read()) this.set({ [label]: value } as Record<L, string>, n);
    },
  });
}

/** A counter mirroring a monotonic count kept elsewhere (e.g. the cache's own statistics). */
export function counterOf(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
