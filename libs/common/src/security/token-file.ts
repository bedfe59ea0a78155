import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@app/contracts';

/** The token file `npm start` creates in the data directory; later runs and single apps reuse it. */
export const TOKEN_FILE_NAME = 'cluster-token';

/** Same rule as `CLUSTER_TOKEN`'s validation. */
const TOKEN_PATTERN = /^[\x21-\x7E]{16,256}$/;

export type TokenSource = 'CLUSTER_TOKEN' | 'CLUSTER_TOKEN_FILE' | 'data directory' | 'none';

/**
 * Reads a token file the way Docker and Kubernetes secrets are read (`CLUSTER_TOKEN_FILE`): the
 * whole file, one trailing newline allowed. Refuses, with one line naming the file, a file that
 * cannot be read, is empty, holds something that is not a token, or that every user may read.
 */
export function readTokenFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch (e) {
    throw new ConfigError(`cluster token file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(`cluster token file ${file} is not a regular file`);
    if (stat.mode & 0o004) {
      throw new ConfigError(`cluster token file ${file} is readable by every user (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`);
    }
    const token = readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    if (token === '') throw new ConfigError(`cluster token file ${file} is empty`);
    if (!TOKEN_PATTERN.test(token)) {
      throw new ConfigError(`cluster token file ${file} does not hold a token (16 to 256 printable characters without spaces)`);
    }
    return token;
  } finally {
    closeSync(fd);
  }
}

/**
 * Settles where this process's cluster token comes from, before the configuration is validated:
 * - `CLUSTER_TOKEN` and `CLUSTER_TOKEN_FILE` together are an error;
 * - `CLUSTER_TOKEN_FILE` is read (see {@link readTokenFile}) into `CLUSTER_TOKEN`;
 * - with neither, `DATA_DIR/cluster-token` is used when it exists (made by `npm start`);
 * - otherwise the service runs without a token (bootstrap warns).
 * Mutates `env` and returns where the token came from. Never logs the token.
 */
export function resolveClusterToken(env: NodeJS.ProcessEnv): TokenSource {
  const direct = env.CLUSTER_TOKEN;
  const file = env.CLUSTER_TOKEN_FILE;
  if (direct && file) throw new ConfigError('set CLUSTER_TOKEN or CLUSTER_TOKEN_FILE, not both');
  if (direct) return 'CLUSTER_TOKEN';
  if (file) {
    env.CLUSTER_TOKEN = readTokenFile(file);
    return 'CLUSTER_TOKEN_FILE';
  }
  const inDataDir = join(env.DATA_DIR || './data', TOKEN_FILE_NAME);
  try {
    env.CLUSTER_TOKEN = readTokenFile(inDataDir);
    return 'data directory';
  } catch (e) {
    if (e instanceof ConfigError && /cannot be read \(ENOENT\)/.test(e.message)) return 'none';
    throw e;
  }
}

/**
 * Returns the token stored in `file`, creating it (mode 0600, exclusively) with a new random
 * token when it does not exist yet. Used by `npm start` on the data directory.
 */
export function ensureTokenFile(file: string): { token: string; created: boolean } {
  const token = randomBytes(24).toString('base64url');
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`cluster token file ${file} cannot be created (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    return { token: readTokenFile(file), created: false };
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token, created: true };
}
