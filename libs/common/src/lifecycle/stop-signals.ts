/**
 * How long a repeat of a stop signal is taken as the same one. `npm start` and `npm run client`
 * `exec` their script, so npm's child is our process, and npm passes on the SIGINT and SIGTERM it
 * gets: a Ctrl-C in the terminal reaches the process group (us included) and, moments later,
 * reaches us again from npm. Only a repeat after this long is a second Ctrl-C.
 */
export const REPEATED_SIGNAL_MS = 1000;

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Calls `first` on the first of `signals`, then `again` on any later one that comes at least
 * {@link REPEATED_SIGNAL_MS} after it (a repeat within that is npm passing on the same one, and
 * is ignored). Returns a function that stops listening.
 */
export function onStopSignals(
  first: (signal: NodeJS.Signals) => void,
  again: (signal: NodeJS.Signals) => void,
  signals: readonly NodeJS.Signals[] = STOP_SIGNALS,
  now: () => number = () => performance.now(),
): () => void {
  let firstAt: number | undefined;
  const listener = (signal: NodeJS.Signals): void => {
    const at = now();
    if (firstAt === undefined) {
      firstAt = at;
      first(signal);
    } else if (at - firstAt >= REPEATED_SIGNAL_MS) {
      again(signal);
    }
  };
  for (const s of signals) process.on(s, listener);
  return () => {
    for (const s of signals) process.off(s, listener);
  };
}
