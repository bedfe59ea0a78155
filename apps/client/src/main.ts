import { onStopSignals } from '@app/common/lifecycle/stop-signals';
import { runCli } from './cli/cli';
import type { CliIo } from './cli/cli-io';

/**
 * Ctrl-C (or SIGTERM, a process manager's or `timeout`'s stop) once: the handler runs (a load run
 * stops and reports); a second, a second or more later: exit at once. `npm run client` execs the
 * client, so the same Ctrl-C also comes from npm, moments later: that counts once.
 */
function onInterrupt(handler: () => void): () => void {
  return onStopSignals(handler, (signal) => process.exit(signal === 'SIGTERM' ? 143 : 130));
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
