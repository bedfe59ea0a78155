import type { Command } from 'commander';
import type { CliIo } from '../cli/cli-io';
import { parseTimeout, resolveUrl, type GlobalArgs } from '../cli/arguments';
import { BazaarClient, DEFAULT_TIMEOUT_MS } from '@app/loadgen';

/** What a command's action gets: the process's I/O and a way to report its exit code. */
export interface CommandContext {
  io: CliIo;
  /** Runs an action and keeps its exit code as the CLI's. */
  run(action: () => Promise<number>): Promise<void>;
}

/** A client for the URL and timeout given by the global options (or `BAZAAR_URL`). */
export function clientFor(command: Command, io: CliIo): BazaarClient {
  const globals = command.optsWithGlobals<GlobalArgs>();
  return new BazaarClient({
    url: resolveUrl(globals.url, io.env),
    timeoutMs: parseTimeout(globals.timeout) ?? DEFAULT_TIMEOUT_MS,
    fetchImpl: io.fetchImpl,
  });
}

/**
 * A long run's abort signal, triggered by the first Ctrl-C after `stopping()` and `message` on
 * stderr (what happens now). `release` stops listening; call it once the run is over.
 */
export function abortOnInterrupt(io: CliIo, message: string, stopping: () => void): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const remove = io.onInterrupt?.(() => {
    stopping();
    io.stderr(`${message}\n`);
    controller.abort();
  });
  return { signal: controller.signal, release: () => remove?.() };
}
