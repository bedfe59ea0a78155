import type { Command } from 'commander';
import { type BazaarClient, ExitCode, type HttpOutcome, LatencyStats } from '@app/loadgen';
import { parseRepeat } from '../cli/arguments';
import type { CliIo } from '../cli/cli-io';
import { clientFor, type CommandContext } from './command-context';

export interface RepeatOptions {
  repeat: number;
  /** With repeats, print only the summary, not one line per request. */
  quiet: boolean;
  /**
   * Sent once: what to say on stderr about an outcome beyond its status, e.g. how to learn a
   * trade's outcome. For a request that got no answer it replaces the `request failed` line.
   */
  explain?: (outcome: HttpOutcome, latency: string) => string | undefined;
}

function outcomeLabel(outcome: HttpOutcome): string {
  return outcome.kind === 'response' ? `HTTP ${outcome.status}` : outcome.error;
}

function bodyText(outcome: HttpOutcome): string {
  if (outcome.kind === 'transport') return '';
  return outcome.body === undefined ? outcome.text : JSON.stringify(outcome.body);
}

/**
 * Sends one request `repeat` times, one after the other, like the seed client's single
 * operations. Once: the JSON response on stdout, status and time on stderr. Repeated: a line
 * per request, then the latency summary. Exit code 0 only when every request got a 2xx.
 */
export async function runRepeated(io: CliIo, send: () => Promise<HttpOutcome>, options: RepeatOptions): Promise<number> {
  const stats = new LatencyStats();
  const outcomes = new Map<string, number>();
  let failures = 0;
  const start = process.hrtime.bigint();

  let sent = 0;
  for (let i = 1; i <= options.repeat; i++) {
    if (io.stdoutClosed?.()) break; // the reader is gone (`| head`): nobody wants the rest
    const outcome = await send();
    sent++;
    if (outcome.kind === 'response') stats.recordMicros(outcome.latencyUs);
    const label = outcomeLabel(outcome);
    outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    const ok = outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300;
    if (!ok) failures++;
    const latency = `${(outcome.latencyUs / 1000).toFixed(2)} ms`;

    if (options.repeat === 1) {
      const explanation = options.explain?.(outcome, latency);
      if (outcome.kind === 'response') {
        io.stdout(`${outcome.body === undefined ? outcome.text : JSON.stringify(outcome.body, null, 2)}\n`);
        io.stderr(`${label} in ${latency}\n`);
        if (explanation !== undefined) io.stderr(`${explanation}\n`);
      } else {
        io.stderr(`${explanation ?? `error: request failed: ${outcome.error} ${outcome.url} (after ${latency})`}\n`);
      }
    } else if (!options.quiet) {
      io.stdout(`#${i}  ${label}  ${latency}  ${bodyText(outcome)}`.trimEnd() + '\n');
    }
  }

  if (options.repeat > 1) {
    const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
    const s = stats.summary();
    const f = (v: number | null): string => (v === null ? '-' : v.toFixed(2));
    const counts = [...outcomes.entries()].map(([label, n]) => `${n} × ${label}`).join(', ');
    io.stdout(`${sent} requests in ${totalMs.toFixed(1)} ms: ${counts}\n`);
    io.stdout(`latency ms: mean ${f(s.mean_ms)}  p50 ${f(s.p50_ms)}  p90 ${f(s.p90_ms)}  p99 ${f(s.p99_ms)}  max ${f(s.max_ms)}\n`);
  }
  return failures === 0 ? ExitCode.ok : ExitCode.failed;
}

/** A command that sends one request about its one argument, once or `--repeat`ed ({@link runRepeated}). */
export interface SingleRequestCommand<T> {
  name: string;
  description: string;
  /** The argument's syntax and description. */
  argument: [string, string];
  /** Checks the argument (a usage error when it is malformed). */
  parse: (raw: string) => T;
  send: (client: BazaarClient, argument: T) => Promise<HttpOutcome>;
}

export function registerSingleRequestCommand<T>(program: Command, ctx: CommandContext, spec: SingleRequestCommand<T>): void {
  program
    .command(spec.name)
    .description(spec.description)
    .argument(...spec.argument)
    .option('--repeat <n>', 'send the lookup n times and print latency statistics', '1')
    .option('--quiet', 'with --repeat, print only the summary')
    .action((raw: string, opts: { repeat?: string; quiet?: boolean }, command: Command) =>
      ctx.run(() => {
        const argument = spec.parse(raw);
        const repeat = parseRepeat(opts.repeat);
        const client = clientFor(command, ctx.io);
        return runRepeated(ctx.io, () => spec.send(client, argument), { repeat, quiet: opts.quiet === true });
      }),
    );
}
