import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@app/contracts';
import { ensureTokenFile, readTokenFile, resolveClusterToken, TOKEN_FILE_NAME } from './token-file';

const TOKEN = 'a-token-of-enough-length';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'token-'));
}

function file(content: string, mode = 0o600): string {
  const f = join(dir(), 'token');
  writeFileSync(f, content, { mode });
  chmodSync(f, mode);
  return f;
}

describe('readTokenFile', () => {
  it('reads the token, allowing one trailing newline', () => {
    expect(readTokenFile(file(`${TOKEN}\n`))).toBe(TOKEN);
    expect(readTokenFile(file(TOKEN, 0o400))).toBe(TOKEN);
  });

  it.each([
    ['a missing file', () => join(dir(), 'absent'), /cannot be read \(ENOENT\)/],
    ['an empty file', () => file(''), /is empty/],
    ['a file readable by every user', () => file(TOKEN, 0o644), /readable by every user \(mode 644\): chmod 600 it/],
    ['a file that holds no token', () => file('short'), /does not hold a token/],
    ['a token with spaces', () => file('a token of enough length'), /does not hold a token/],
    ['a directory', () => dir(), /not a regular file|cannot be read/],
  ])('refuses %s in one line naming the file', (_what, make, message) => {
    const f = make();
    let error: unknown;
    try {
      readTokenFile(f);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(f);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('resolveClusterToken', () => {
  it('refuses CLUSTER_TOKEN and CLUSTER_TOKEN_FILE together', () => {
    expect(() => resolveClusterToken({ CLUSTER_TOKEN: TOKEN, CLUSTER_TOKEN_FILE: file(TOKEN) })).toThrow('not both');
  });

  it('reads CLUSTER_TOKEN_FILE into CLUSTER_TOKEN', () => {
    const env: NodeJS.ProcessEnv = { CLUSTER_TOKEN_FILE: file(TOKEN) };
    expect(resolveClusterToken(env)).toBe('CLUSTER_TOKEN_FILE');
    expect(env.CLUSTER_TOKEN).toBe(TOKEN);
  });

  it("uses the data directory's token file when nothing is set, and runs without a token when there is none", () => {
    const data = dir();
    const env: NodeJS.ProcessEnv = { DATA_DIR: data };
    expect(resolveClusterToken(env)).toBe('none');
    expect(env.CLUSTER_TOKEN).toBeUndefined();
    writeFileSync(join(data, TOKEN_FILE_NAME), TOKEN, { mode: 0o600 });
    expect(resolveClusterToken(env)).toBe('data directory');
    expect(env.CLUSTER_TOKEN).toBe(TOKEN);
  });

  it("refuses a bad token file in the data directory instead of running without a token", () => {
    const data = dir();
    writeFileSync(join(data, TOKEN_FILE_NAME), TOKEN, { mode: 0o644 });
    chmodSync(join(data, TOKEN_FILE_NAME), 0o644);
    expect(() => resolveClusterToken({ DATA_DIR: data })).toThrow(/readable by every user/);
  });

  it('leaves CLUSTER_TOKEN as it is', () => {
    const env: NodeJS.ProcessEnv = { CLUSTER_TOKEN: TOKEN, DATA_DIR: dir() };
    expect(resolveClusterToken(env)).toBe('CLUSTER_TOKEN');
    expect(env.CLUSTER_TOKEN).toBe(TOKEN);
  });
});

describe('ensureTokenFile', () => {
  it('creates a random token with mode 0600 once, and returns the same token afterwards', () => {
    const f = join(dir(), TOKEN_FILE_NAME);
    const first = ensureTokenFile(f);
    expect(first.created).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f, 'utf8')).toBe(`${first.token}\n`);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(ensureTokenFile(f)).toEqual({ token: first.token, created: false });
  });
});
