import { runCli } from './cli/cli';
import type { CliIo } from './cli/cli-io';

/** Ctrl-C once: the handler runs (a load run stops and reports); twice: exit at once. */
function onInterrupt(handler: () => void): () => void {
  let count = 0;
  const listener = (): void => {
    count++;
    if (count === 1) handler();
    else process.exit(130);
  };
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}

// A reader that went away (`| head`) makes writes fail with EPIPE, an 'error' event that would
// otherwise end the client with a stack trace. Output is dropped from then on; `--watch` and
// `--repeat` stop (`stdoutClosed`), and the command's own exit code stands.
let stdoutGone = false;
let stderrGone = false;
process.stdout.on('error', () => (stdoutGone = true));
process.stderr.on('error', () => (stderrGone = true));

const io: CliIo = {
  stdout: (text) => {
    if (!stdoutGone) process.stdout.write(text);
  },
  stderr: (text) => {
    if (!stderrGone) process.stderr.write(text);
  },
  stdoutClosed: () => stdoutGone,
  env: process.env,
  progressTty: process.stderr.isTTY ? process.stderr : undefined,
  onInterrupt,
};

void runCli(process.argv, io).then((code) => {
  process.exitCode = code;
});
