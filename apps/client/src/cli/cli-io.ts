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
  /** Injected for tests: a fake `fetch` that requests go through instead of `node:http`. */
  fetchImpl?: FetchLike;
}
