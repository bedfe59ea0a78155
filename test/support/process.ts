import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

/** Path of a built app's entry point, e.g. `dist/apps/client/src/main.js`. */
export const appMain = (app: string) => resolve(ROOT, 'dist', 'apps', app, 'src', 'main.js');

export interface RunResult {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the process had to be killed because it outlived `timeoutMs`. */
  timedOut: boolean;
}

const running = new Set<ChildProcess>();

/** Removes terminal colour codes (Nest's logger colours its output even into a pipe). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/**
 * Runs `node <script> ...args` with exactly `env` (plus PATH and HOME) and collects its output.
 * A process still running after `timeoutMs` is killed (SIGKILL) and reported as timed out, so a
 * test never waits on it for longer than that.
 */
export function runNode(script: string, args: string[], env: Record<string, string>, timeoutMs = 15000): Promise<RunResult> {
  return startNode(script, args, env, timeoutMs).done;
}

/** Like {@link runNode}, but also hands back the child so the caller may stop it early. */
export function startNode(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 15000,
): { child: ChildProcess; done: Promise<RunResult> } {
  let child!: ChildProcess;
  const done = new Promise<RunResult>((res, rej) => {
    const { PATH, HOME } = process.env;
    child = spawn(process.execPath, [script, ...args], {
      env: { PATH: PATH ?? '', HOME: HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: ROOT,
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      running.delete(child);
      rej(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      res({ code, signal, stdout, stderr, timedOut });
    });
  });
  return { child, done };
}

/** Kills (by pid) every process started by {@link runNode} that is still running. */
export function killAllStarted(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
