import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/**
 * Appends a child's stdout and stderr to the file at `path`, and closes it once the child's streams
 * have both ended. Neither stream may end the file: `pipe()` would end it with the first stream to
 * end, and a last write of the other (a crash's message on stderr after stdout closed) would then
 * fail as a write after end — an error event that stops the process running the cluster.
 */
export function appendOutputTo(child: ChildProcess, path: string): void {
  const log = createWriteStream(path, { flags: 'a' });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once('close', () => log.end());
}
