import { setTimeout as sleep } from 'node:timers/promises';
import { lookupThrough, STOCK_COUNT, type AimedReaderOptions } from './clients';

/** `session`: two past the sessions' (the crossing reader's is one past). */
export interface OutageReaderOptions extends AimedReaderOptions {
  /** Whether the catalog is out now: killed, paused, or restarted and not yet healthy (the nemesis says). */
  catalogOut: () => boolean;
}

/** What the outage reader did, for the report. */
export interface OutageFigures {
  /** Its session id in the history. */
  session: number;
  /** Catalog outages it read in. */
  windows: number;
  /** Lookups it made in them. */
  reads: number;
}

/** How often it looks for an outage while there is none (one lasts a second or more). */
const IDLE_MS = 10;
/** The pause between two of its lookups, and after one that got no answer. */
const PACE_MS = 20;

/**
 * The outage reader: a read-only client session aimed at the catalog's faults. The sessions look a
 * stock up, then often trade it; a trade waits for a catalog that is down, so within a second of
 * a catalog crash every session is usually waiting in a trade, and no lookup meets the outage
 * (a front end that answered lookups 503 while its catalog restarted passed every check that
 * way). This one makes nothing else: for as long as the catalog is out, a lookup of each stock in
 * turn through every front end in turn, one at a time, a few milliseconds apart. Each must be
 * answered (the front end asks the catalog again until it is back, within its failover timeout).
 *
 * Its reads go into the history as a session's do, so "no client-visible failures" and the read
 * checks judge them: it adds no check of its own. It draws nothing from the seeded random streams.
 */
export class OutageReader {
  readonly figures: OutageFigures;

  constructor(private readonly o: OutageReaderOptions) {
    this.figures = { session: o.session, windows: 0, reads: 0 };
  }

  private get stopped(): boolean {
    return this.o.stopIssuing() || this.o.signal.aborted;
  }

  /** Waits for catalog outages and reads through each, until the run stops issuing; resolves with its figures. */
  async run(): Promise<OutageFigures> {
    while (!this.stopped) {
      if (!this.o.catalogOut()) {
        await sleep(IDLE_MS);
        continue;
      }
      this.figures.windows++;
      for (let n = 0; !this.stopped && this.o.catalogOut(); n++) {
        // Each stock through every front end in turn, then the next stock.
        const fe = this.o.clients[n % this.o.clients.length];
        const stock = Math.floor(n / this.o.clients.length) % STOCK_COUNT;
        await lookupThrough(this.o.history, fe, this.o.session, `Stock${stock + 1}`);
        this.figures.reads++;
        await sleep(PACE_MS);
      }
    }
    return this.figures;
  }
}
