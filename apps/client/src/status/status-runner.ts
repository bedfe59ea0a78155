import type { CliIo } from '../cli/cli-io';
import { type BazaarClient, errorMessage, ExitCode, isClusterStatus, pause } from '@app/loadgen';
import { CLEAR_SCREEN, renderStatus } from './status-view';

/** `--watch` redraws this often. */
const WATCH_INTERVAL_MS = 1000;

export interface StatusOptions {
  /** Redraw every `intervalMs` until Ctrl-C (exit 0) instead of printing once. */
  watch: boolean;
  intervalMs?: number;
}

/** One reading of `GET /status.json`: the rendered view, or one line saying what went wrong. */
export async function readStatus(
  client: BazaarClient,
  baseUrl: string,
  signal?: AbortSignal,
): Promise<{ ok: true; text: string } | { ok: false; error: string }> {
  const url = client.statusUrl().toString();
  const outcome = await client.status(signal);
  if (outcome.kind === 'transport') return { ok: false, error: `cannot reach the front end at ${url}: ${outcome.error}` };
  if (outcome.status !== 200) {
    const message = errorMessage(outcome.body);
    const hint = outcome.status === 404 ? ' (a front end without GET /status.json?)' : '';
    return { ok: false, error: `${url} answered HTTP ${outcome.status}${message ? ` ${message}` : ''}${hint}` };
  }
  if (!isClusterStatus(outcome.body)) return { ok: false, error: `${url} answered 200 with a body that is not a cluster status` };
  return { ok: true, text: renderStatus(outcome.body, baseUrl) };
}

/**
 * `client status`. Once: the view on stdout and exit 0, or one line on stderr naming the URL and
 * exit 1. `--watch`: clears the screen and draws the view (or the error line, while the front end
 * is unreachable) every second, until Ctrl-C (or until its standard output is closed), then exits 0.
 */
export async function runStatus(io: CliIo, client: BazaarClient, baseUrl: string, options: StatusOptions): Promise<number> {
  if (!options.watch) {
    const reading = await readStatus(client, baseUrl);
    if (!reading.ok) {
      io.stderr(`error: ${reading.error}\n`);
      return ExitCode.failed;
    }
    io.stdout(reading.text);
    return ExitCode.ok;
  }

  const intervalMs = options.intervalMs ?? WATCH_INTERVAL_MS;
  const controller = new AbortController();
  const removeInterrupt = io.onInterrupt?.(() => controller.abort());
  try {
    while (!controller.signal.aborted && !io.stdoutClosed?.()) {
      const started = performance.now();
      // Ctrl-C ends a reading still under way at once, not when its timeout runs out.
      const reading = await readStatus(client, baseUrl, controller.signal);
      if (controller.signal.aborted) break;
      const body = reading.ok ? reading.text : `${new Date().toISOString()}  error: ${reading.error}\n`;
      io.stdout(`${CLEAR_SCREEN}${body}\nrefreshing every ${intervalMs / 1000} s; Ctrl-C to stop\n`);
      await pause(Math.max(0, intervalMs - (performance.now() - started)), controller.signal);
    }
  } finally {
    removeInterrupt?.();
  }
  return ExitCode.ok;
}
