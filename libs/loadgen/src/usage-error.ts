/** Exit codes of the client. */
export const ExitCode = {
  ok: 0,
  /** A request failed, a check found a problem, or the run was interrupted. */
  failed: 1,
  /** The command line was wrong; nothing was sent. */
  usage: 2,
} as const;

/** A bad command line or bad load options: reported as one line, exit code 2, nothing sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = ExitCode.usage;
}
