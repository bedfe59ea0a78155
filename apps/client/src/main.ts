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

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  progressTty: process.stderr.isTTY ? process.stderr : undefined,
  onInterrupt,
};

void runCli(process.argv, io).then((code) => {
  process.exitCode = code;
});
