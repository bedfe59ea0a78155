import { isAbsolute, resolve } from 'node:path';
import { DERIVED_REQUEST_ID_PREFIX, isClientKey, MAX_TRADE_QUANTITY, TRADE_TYPE_PATTERN } from '@app/contracts/limits';
import { DEFAULT_URL, type LoadOptions, resolveLoadOptions, type SweepOptions, UsageError, validateSweepOptions, validateTimeout, validateUrl } from '@app/loadgen';

/** Environment variable that sets the front end's URL when `--url` is not given. */
export const URL_ENV = 'BAZAAR_URL';

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;

/** A decimal number, or a {@link UsageError} naming the flag. */
function parseNumberArg(flag: string, raw: string): number {
  if (!NUMBER.test(raw.trim())) throw new UsageError(`${flag} must be a number (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

/** An integer in [min, max], or a {@link UsageError} naming the flag and the range. */
function parseIntegerArg(flag: string, raw: string, min: number, max: number): number {
  const value = INTEGER.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** `--url`, else `BAZAAR_URL`, else `http://127.0.0.1:30001`. */
export function resolveUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return validateUrl(flag);
  const fromEnv = env[URL_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    try {
      return validateUrl(fromEnv.trim());
    } catch {
      throw new UsageError(`${URL_ENV} must be an http(s) URL such as ${DEFAULT_URL} (got ${JSON.stringify(fromEnv)})`);
    }
  }
  return DEFAULT_URL;
}

/**
 * Where `--json <file>` goes: a relative path is taken from the directory the user ran the
 * command in. `npm run client` runs the client from the package's root, wherever it was typed,
 * and says where it was typed in `INIT_CWD`; only then (`npm_lifecycle_event` is `client`) is
 * that directory used, not for a client some other script started.
 */
export function outputPath(raw: string, env: NodeJS.ProcessEnv): string {
  const typedIn = env.npm_lifecycle_event === 'client' ? env.INIT_CWD : undefined;
  return typedIn && !isAbsolute(raw) ? resolve(typedIn, raw) : raw;
}

/** Options every command takes (`--url` and `--timeout` are global). */
export interface GlobalArgs {
  url?: string;
  timeout?: string;
}

export function parseTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  return validateTimeout(parseNumberArg('--timeout', raw));
}

/** Raw `load` options as commander hands them over (strings, flags). */
export interface RawLoadArgs extends GlobalArgs {
  sessions?: string;
  p?: string;
  iterations?: string;
  duration?: string;
  seed?: string;
  json?: string;
  quiet?: boolean;
  mixedCase?: boolean;
}

export interface LoadArgs {
  options: LoadOptions;
  json?: string;
  quiet: boolean;
}

/**
 * Turns `load`'s command line into {@link LoadOptions}. Ranges and combinations are checked
 * here too (by the runner's own validation), so a bad command line fails before anything is sent.
 */
export function parseLoadArgs(raw: RawLoadArgs, env: NodeJS.ProcessEnv): LoadArgs {
  const options: LoadOptions = { url: resolveUrl(raw.url, env), timeoutMs: parseTimeout(raw.timeout) };
  if (raw.sessions !== undefined) options.sessions = parseNumberArg('--sessions', raw.sessions);
  if (raw.p !== undefined) options.p = parseNumberArg('--p', raw.p);
  if (raw.iterations !== undefined) options.iterations = parseNumberArg('--iterations', raw.iterations);
  if (raw.duration !== undefined) options.durationS = parseNumberArg('--duration', raw.duration);
  if (raw.seed !== undefined) options.seed = parseNumberArg('--seed', raw.seed);
  if (raw.mixedCase) options.mixedCase = true;
  if (raw.json !== undefined && raw.json.trim() === '') throw new UsageError('--json needs a file name');
  resolveLoadOptions(options); // throws on a bad range or combination
  return { options, json: raw.json === undefined ? undefined : outputPath(raw.json, env), quiet: raw.quiet === true };
}

/** Raw `sweep` options as commander hands them over: `load`'s, with `p` a comma-separated list. */
export type RawSweepArgs = Omit<RawLoadArgs, 'mixedCase'>;

export interface SweepArgs {
  options: SweepOptions;
  json?: string;
  quiet: boolean;
}

/** `0,0.2,0.4` → [0, 0.2, 0.4]; each must be a number (ranges are checked by the sweep). */
export function parseProbabilityList(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((s) => s === '')) {
    throw new UsageError(`--p must be a comma-separated list of probabilities such as 0,0.2,0.4 (got ${JSON.stringify(raw)})`);
  }
  return parts.map((s) => parseNumberArg('--p', s));
}

/** Turns `sweep`'s command line into {@link SweepOptions}, checked before anything is sent. */
export function parseSweepArgs(raw: RawSweepArgs, env: NodeJS.ProcessEnv): SweepArgs {
  const options: SweepOptions = { url: resolveUrl(raw.url, env), timeoutMs: parseTimeout(raw.timeout) };
  if (raw.sessions !== undefined) options.sessions = parseNumberArg('--sessions', raw.sessions);
  if (raw.p !== undefined) options.ps = parseProbabilityList(raw.p);
  if (raw.iterations !== undefined) options.iterations = parseNumberArg('--iterations', raw.iterations);
  if (raw.duration !== undefined) options.durationS = parseNumberArg('--duration', raw.duration);
  if (raw.seed !== undefined) options.seed = parseNumberArg('--seed', raw.seed);
  if (raw.json !== undefined && raw.json.trim() === '') throw new UsageError('--json needs a file name');
  validateSweepOptions(options); // throws on a bad range or combination
  return { options, json: raw.json === undefined ? undefined : outputPath(raw.json, env), quiet: raw.quiet === true };
}

const MAX_REPEAT = 1_000_000;

export function parseRepeat(raw: string | undefined): number {
  return raw === undefined ? 1 : parseIntegerArg('--repeat', raw, 1, MAX_REPEAT);
}

export function parseStockName(raw: string): string {
  if (raw.trim() === '') throw new UsageError('stock name must not be empty');
  return raw;
}

/** `buy`/`sell` in any letter case; the spelling given is sent as is (and kept by the bazaar). */
export function parseTradeType(raw: string): string {
  if (!TRADE_TYPE_PATTERN.test(raw)) throw new UsageError(`trade type must be buy or sell (got ${JSON.stringify(raw)})`);
  return raw;
}

export function parseQuantity(raw: string): number {
  return parseIntegerArg('quantity', raw, 1, MAX_TRADE_QUANTITY);
}

export function parseOrderNo(raw: string): number {
  return parseIntegerArg('order number', raw, 1, Number.MAX_SAFE_INTEGER);
}

export function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!isClientKey(raw)) {
    throw new UsageError(`--key must be 1 to 128 printable characters without spaces, not starting with ${DERIVED_REQUEST_ID_PREFIX} (got ${JSON.stringify(raw)})`);
  }
  return raw;
}
