import { setTimeout as sleep } from 'node:timers/promises';
import { lookupThrough, STOCK_COUNT, type AimedReaderOptions, type SessionClients } from './clients';

/** What the crossing reader needs of the push relays: the front ends whose pushes are lost now. */
export interface PushLossView {
  losing(): string[];
}

/** `clients`: two or more front ends; `session`: one past the sessions'. */
export interface CrossingReaderOptions extends AimedReaderOptions {
  relays: PushLossView;
}

/** What the crossing reader did, for the report and the summary. */
export interface CrossingFigures {
  /** Its session id in the history (a read going back in it is a crossing the catalog let through). */
  session: number;
  /** Lost-push windows it read in. */
  windows: number;
  /** Pairs of reads of one stock: through another front end, then at once through the one losing its pushes. */
  pairs: number;
  /** Pairs whose first read showed the stock newer than the reader had seen it before: a trade the second read had to show too. */
  newer: number;
}

/** How often it looks for a lost-push window while there is none (a window lasts a second or more). */
const IDLE_MS = 10;
/** The pause after a read that got no answer, so that a front end that is down is not hammered. */
const NO_ANSWER_MS = 50;

/**
 * The crossing reader: a read-only client session aimed at the `lose-pushes` fault. While the
 * catalog's pushes to front end X are lost, X keeps its lease and serves its cached stocks until
 * a lease grant carries their invalidations (within a third of a lease); the other front ends get
 * their pushes and drop the stock at once. A catalog that showed a trade before its push to X is
 * safe would let a client read the trade through another front end and then the stock from
 * before it through X: reads going back across front ends. Random sessions rarely make those two
 * reads inside that short window, so this one makes nothing else: for every stock in turn, a
 * lookup through another front end, then at once one through X, as fast as the answers come, for
 * as long as X loses its pushes. Its reads through X also keep every stock in X's cache, so each
 * trade in the window is one X could serve stale.
 *
 * Its reads go into the history as a session's do (its own session id, see {@link lookupThrough}),
 * so "monotonic reads" and "reads show every trade acknowledged before them" judge them: it adds
 * no check of its own. It draws nothing from the seeded random streams, so the sessions'
 * workload and the fault schedule of a seed are the same with it as without it.
 */
export class CrossingReader {
  readonly figures: CrossingFigures;
  /** Stock → the highest trade volume the reader has read of it. */
  private readonly seen = new Map<string, number>();
  /** Which of the other front ends reads first next (in turn, with three or more). */
  private turn = 0;

  constructor(private readonly o: CrossingReaderOptions) {
    this.figures = { session: o.session, windows: 0, pairs: 0, newer: 0 };
  }

  private get stopped(): boolean {
    return this.o.stopIssuing() || this.o.signal.aborted;
  }

  /** Waits for lost-push windows and reads across each, until the run stops issuing; resolves with its figures. */
  async run(): Promise<CrossingFigures> {
    while (!this.stopped) {
      const lost = this.losingFrontend();
      if (lost) await this.window(lost);
      else await sleep(IDLE_MS);
    }
    return this.figures;
  }

  /** The front end whose pushes are lost now, if any (with another to read through first). */
  private losingFrontend(): SessionClients | undefined {
    if (this.o.clients.length < 2) return undefined;
    const losing = this.o.relays.losing();
    return this.o.clients.find((c) => losing.includes(c.frontend));
  }

  /** Pairs of reads over every stock in turn, while `lost` loses its pushes. */
  private async window(lost: SessionClients): Promise<void> {
    const others = this.o.clients.filter((c) => c !== lost);
    this.figures.windows++;
    for (let n = 0; !this.stopped && this.o.relays.losing().includes(lost.frontend); n++) {
      const first = others[this.turn++ % others.length];
      await this.pair(first, lost, `Stock${(n % STOCK_COUNT) + 1}`);
    }
  }

  /** Reads `stock` through `first`, then through `then` (only once `first` answered it); a pair is counted once both reads were made. */
  private async pair(first: SessionClients, then: SessionClients, stock: string): Promise<void> {
    const a = await lookupThrough(this.o.history, first, this.o.session, stock);
    if (a.outcome !== 'ok') return void (await sleep(NO_ANSWER_MS));
    const b = await lookupThrough(this.o.history, then, this.o.session, stock);
    this.figures.pairs++;
    const before = this.seen.get(stock);
    if (a.trade_volume !== undefined && before !== undefined && a.trade_volume > before) this.figures.newer++;
    this.note(stock, a.trade_volume);
    this.note(stock, b.trade_volume);
    if (b.outcome !== 'ok') await sleep(NO_ANSWER_MS);
  }

  private note(stock: string, volume: number | undefined): void {
    if (volume !== undefined) this.seen.set(stock, Math.max(volume, this.seen.get(stock) ?? volume));
  }
}
