import { Presets, SingleBar } from 'cli-progress';
import type { LoadProgress } from '@app/loadgen';

/** Receives a run's progress snapshots and shows them. */
export interface ProgressView {
  update(progress: LoadProgress): void;
  /** Leaves the terminal clean; call once, before printing the report. */
  stop(): void;
}

export interface ProgressViewOptions {
  /** Where progress goes (stderr, so stdout stays the report). */
  write: (text: string) => void;
  /** The stream to draw a bar on; a bar is drawn only when this is given (stderr is a TTY). */
  ttyStream?: NodeJS.WritableStream;
  /** Interval between plain progress lines when there is no TTY. */
  plainIntervalMs?: number;
  /** Clock, injectable for tests (milliseconds). */
  now?: () => number;
}

/** Answered requests per second: requests that got no response at all are errors, not throughput. */
function rps(progress: LoadProgress): string {
  return progress.elapsed_s > 0 ? (progress.answered / progress.elapsed_s).toFixed(0) : '0';
}

/** One line describing a snapshot, e.g. `load: 250/500 iterations (50%), 1.2 s, 410 req/s, 0 errors, 61 orders`. */
export function formatProgressLine(p: LoadProgress): string {
  if (p.phase === 'check' || p.phase === 'done') {
    return `check: ${p.checked}/${p.to_check} orders read back, ${p.errors} errors`;
  }
  const done =
    p.iterations_total !== null
      ? `${p.iterations_done}/${p.iterations_total} iterations (${percent(p.iterations_done, p.iterations_total)}%)`
      : `${p.iterations_done} iterations, ${p.elapsed_s.toFixed(0)}/${p.duration_s ?? 0} s (${percent(p.elapsed_s, p.duration_s ?? 0)}%)`;
  return `load: ${done}, ${p.elapsed_s.toFixed(1)} s, ${rps(p)} req/s, ${p.errors} errors, ${p.orders} orders`;
}

function percent(value: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((value / total) * 100)) : 100;
}

/** A progress bar (cli-progress) when stderr is a terminal, else a plain line every few seconds. */
export function createProgressView(options: ProgressViewOptions): ProgressView {
  return options.ttyStream ? new BarView(options.ttyStream) : new PlainView(options);
}

class PlainView implements ProgressView {
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private lastPhase: LoadProgress['phase'] | undefined;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ProgressViewOptions) {
    this.intervalMs = options.plainIntervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  update(progress: LoadProgress): void {
    if (progress.phase === 'done') return;
    const now = this.now();
    // The check is announced as it starts, when there is something to check.
    const enteringCheck = progress.phase === 'check' && this.lastPhase !== 'check' && progress.to_check > 0;
    if (this.lastPhase === undefined) {
      // The first snapshot says nothing yet: the first line comes one interval later.
      this.lastLineAt = now;
    } else if (enteringCheck || now - this.lastLineAt >= this.intervalMs) {
      this.lastLineAt = now;
      this.options.write(`${formatProgressLine(progress)}\n`);
    }
    this.lastPhase = progress.phase;
  }

  stop(): void {}
}

class BarView implements ProgressView {
  private readonly bar: SingleBar;
  private phase: LoadProgress['phase'] | undefined;
  private stopped = false;

  constructor(stream: NodeJS.WritableStream) {
    this.bar = new SingleBar(
      {
        stream,
        format: '{phase} |{bar}| {percentage}% | {detail}',
        hideCursor: true,
        clearOnComplete: true,
        fps: 10,
      },
      Presets.shades_classic,
    );
  }

  update(p: LoadProgress): void {
    const started = this.phase !== undefined;
    if (p.phase === 'done' || this.stopped) return;
    let total: number;
    let value: number;
    let detail: string;
    if (p.phase === 'check') {
      total = Math.max(1, p.to_check);
      value = p.checked;
      detail = `${p.checked}/${p.to_check} orders read back | ${p.errors} errors`;
    } else if (p.iterations_total !== null) {
      total = p.iterations_total;
      value = p.iterations_done;
      detail = `${p.iterations_done}/${p.iterations_total} iterations | ${rps(p)} req/s | ${p.errors} errors | ${p.orders} orders`;
    } else {
      total = Math.max(1, Math.round((p.duration_s ?? 0) * 10));
      value = Math.min(total, Math.round(p.elapsed_s * 10));
      detail = `${p.elapsed_s.toFixed(0)}/${p.duration_s ?? 0} s | ${p.iterations_done} iterations | ${rps(p)} req/s | ${p.errors} errors | ${p.orders} orders`;
    }
    const payload = { phase: p.phase.padEnd(5), detail };
    if (!started) {
      this.bar.start(total, value, payload);
    } else {
      if (p.phase !== this.phase) this.bar.setTotal(total);
      this.bar.update(value, payload);
    }
    this.phase = p.phase;
  }

  stop(): void {
    if (this.phase !== undefined && !this.stopped) this.bar.stop();
    this.stopped = true;
  }
}
