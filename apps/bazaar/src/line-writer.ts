/**
 * Most bytes `npm start` keeps waiting for a reader of one of its streams. A reader that stalls
 * (a terminal paused with Ctrl-S, `| less` not scrolled, tmux in copy mode) would otherwise make
 * the supervisor keep every line the services print, growing without bound; and pausing the
 * services' pipes instead would block their logging, so their requests, and stop the trading.
 */
export const MAX_BUFFERED_BYTES = 4 << 20;

/** The part of a writable stream a {@link LineWriter} uses. */
export interface LineSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes lines to a stream, dropping those that come while more than {@link MAX_BUFFERED_BYTES}
 * wait for its reader, and saying how many were dropped once it has read what waited. Stops
 * writing for good once {@link close}d (the stream failed).
 */
export class LineWriter {
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly sink: LineSink,
    /** The line that says `n` lines were dropped. */
    private readonly droppedLine: (n: number) => string,
    private readonly maxBuffered = MAX_BUFFERED_BYTES,
  ) {}

  /** Writes `text` (whole lines) unless too much waits already; false when it was dropped. */
  write(text: string): boolean {
    if (this.closed) return false;
    if (this.sink.writableLength > this.maxBuffered) {
      if (this.dropped++ === 0) this.sink.once('drain', () => this.flushNote());
      return false;
    }
    this.sink.write(text);
    return true;
  }

  close(): void {
    this.closed = true;
  }

  private flushNote(): void {
    const n = this.dropped;
    this.dropped = 0;
    if (!this.closed) this.sink.write(this.droppedLine(n));
  }
}
