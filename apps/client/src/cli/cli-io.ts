import type { FetchLike } from '@app/loadgen';

/** What the CLI needs from its process; replaced in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** The stream a progress bar may be drawn on: set only when stderr is a terminal. */
  progressTty?: NodeJS.WritableStream;
  /**
   * Registers a Ctrl-C handler for the duration of a load run; returns the function that
   * removes it. Absent in tests.
   */
  onInterrupt?(handler: () => void): () => void;
  /**
   * True once standard output has failed (its reader is gone: `client status --watch | head`).
   * Writes are dropped from then on, and commands that loop (`--watch`, `--repeat`) stop.
   */
  stdoutClosed?(): boolean;
  /** Injected for tests: a fake `fetch` that requests go through instead of `node:http`. */
  fetchImpl?: FetchLike;
}
