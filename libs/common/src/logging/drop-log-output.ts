import pino, { type Logger as PinoInstance } from 'pino';

/**
 * Drops every log line from now on, those already buffered included: for a process whose output
 * is gone (its reader, `npm start`'s supervisor, was killed). As pino does itself when a write it
 * sees fails with EPIPE (tools.js, filterBrokenPipe): otherwise the flush pino runs at exit
 * (sonic-boom's flushSync) writes what is buffered, and on EPIPE sleeps and retries for ever,
 * blocking the event loop, so the process never ends, not even at its shutdown deadline.
 */
export function dropLogOutput(root: PinoInstance): void {
  root.level = 'silent';
  const stream = (root as unknown as Record<symbol, Record<string, unknown>>)[pino.symbols.streamSym];
  if (!stream) return;
  const noop = (): void => undefined;
  for (const method of ['write', 'flushSync', 'flush', 'end', 'destroy']) if (typeof stream[method] === 'function') stream[method] = noop;
}
