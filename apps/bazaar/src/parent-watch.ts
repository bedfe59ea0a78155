/** How often the supervisor checks that npm, which started it, is still there. */
export const PARENT_CHECK_MS = 500;

/**
 * Calls `onGone` once when this process's parent is no longer `parentPid` (it died, and the
 * process was handed to init or a subreaper). For `npm start`: npm is what a terminal, a process
 * manager or a test holds and signals, and npm passes Ctrl-C and SIGTERM on. If npm dies first
 * (SIGKILLed, or failing to write its own `> start` header to a full disk), the bazaar would run
 * on unseen, holding its ports and its data files' locks, so that the next `npm start` fails.
 * Returns the function that stops watching. The timer does not keep the process alive.
 */
export function watchParent(parentPid: number, onGone: () => void, intervalMs = PARENT_CHECK_MS, currentParent = () => process.ppid): () => void {
  if (currentParent() !== parentPid) {
    // Gone already.
    queueMicrotask(onGone);
    return () => undefined;
  }
  const timer = setInterval(() => {
    if (currentParent() === parentPid) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The pid of the npm that runs this process as `npm start`, or undefined when it is run otherwise.
 * The start script passes it (`NPM_PID=$PPID exec node …`: the shell's parent is npm): npm may be
 * gone before this process looks at its own parent, as when it fails to write its header.
 */
export function npmPid(env: NodeJS.ProcessEnv): number | undefined {
  const pid = Number(env.NPM_PID);
  return Number.isSafeInteger(pid) && pid > 1 && env.npm_lifecycle_event === 'start' ? pid : undefined;
}
