import { UsageError } from '@app/loadgen';
import { parseIdempotencyKey, parseLoadArgs, parseProbabilityList, parseQuantity, parseSweepArgs, parseTradeType, resolveUrl } from './arguments';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseLoadArgs', () => {
  const env = {};

  it('applies nothing it was not given and keeps the defaults to the runner', () => {
    const args = parseLoadArgs({}, env);
    expect(args).toEqual({ options: { url: 'http://127.0.0.1:30001', timeoutMs: undefined }, json: undefined, quiet: false });
  });

  it('parses every option', () => {
    const args = parseLoadArgs(
      { sessions: '8', p: '0.25', duration: '1.5', seed: '99', json: 'out.json', quiet: true, mixedCase: true, url: 'http://h:1', timeout: '500' },
      env,
    );
    expect(args).toEqual({
      options: { url: 'http://h:1', timeoutMs: 500, sessions: 8, p: 0.25, durationS: 1.5, seed: 99, mixedCase: true },
      json: 'out.json',
      quiet: true,
    });
  });

  it.each([
    [{ p: '1.5' }, '--p must be a probability between 0 and 1 (got 1.5)'],
    [{ p: '-1' }, '--p must be a probability between 0 and 1 (got -1)'],
    [{ p: 'half' }, '--p must be a number (got "half")'],
    [{ sessions: '0' }, '--sessions must be an integer between 1 and 1000 (got 0)'],
    [{ sessions: '2.5' }, '--sessions must be an integer between 1 and 1000 (got 2.5)'],
    [{ iterations: '0' }, '--iterations must be an integer between 1 and 10000000 (got 0)'],
    [{ duration: '0' }, '--duration must be a number of seconds greater than 0 and at most 604800 (got 0)'],
    [{ seed: '-1' }, '--seed must be an integer between 0 and 4294967295 (got -1)'],
    [{ timeout: '0' }, '--timeout must be an integer number of milliseconds between 1 and 600000 (got 0)'],
    [{ url: 'localhost:30001' }, '--url must be an http(s) URL such as http://127.0.0.1:30001 (got "localhost:30001")'],
    [{ json: ' ' }, '--json needs a file name'],
  ])('rejects %j with a clear message', (raw, message) => {
    expect(usageMessage(() => parseLoadArgs(raw, env))).toBe(message);
  });

  it('refuses --iterations together with --duration', () => {
    expect(usageMessage(() => parseLoadArgs({ iterations: '10', duration: '5' }, env))).toMatch(
      /^--iterations and --duration cannot be used together/,
    );
  });
});

describe('parseSweepArgs', () => {
  const env = {};

  it('leaves the defaults to the sweep', () => {
    expect(parseSweepArgs({}, env)).toEqual({ options: { url: 'http://127.0.0.1:30001', timeoutMs: undefined }, json: undefined, quiet: false });
  });

  it('parses a list of p and every option', () => {
    const args = parseSweepArgs(
      { p: '0, 0.2,0.4', sessions: '5', iterations: '200', seed: '7', json: 'sweep.json', quiet: true, url: 'http://h:1', timeout: '900' },
      env,
    );
    expect(args).toEqual({
      options: { url: 'http://h:1', timeoutMs: 900, ps: [0, 0.2, 0.4], sessions: 5, iterations: 200, seed: 7 },
      json: 'sweep.json',
      quiet: true,
    });
    expect(parseSweepArgs({ duration: '2.5' }, env).options.durationS).toBe(2.5);
  });

  it.each([
    [{ p: '0,,0.4' }, '--p must be a comma-separated list of probabilities such as 0,0.2,0.4 (got "0,,0.4")'],
    [{ p: '' }, '--p must be a comma-separated list of probabilities such as 0,0.2,0.4 (got "")'],
    [{ p: '0,x' }, '--p must be a number (got "x")'],
    [{ p: '0,1.5' }, '--p must be a probability between 0 and 1 (got 1.5)'],
    [{ sessions: '0' }, '--sessions must be an integer between 1 and 1000 (got 0)'],
    [{ iterations: '10', duration: '5' }, '--iterations and --duration cannot be used together: give a number of iterations per session or a duration in seconds'],
    [{ json: '' }, '--json needs a file name'],
  ])('rejects %j with a clear message', (raw, message) => {
    expect(usageMessage(() => parseSweepArgs(raw, env))).toBe(message);
  });

  it('splits and trims a list', () => {
    expect(parseProbabilityList('0.8')).toEqual([0.8]);
    expect(parseProbabilityList(' 0 , 1 ')).toEqual([0, 1]);
  });
});

describe('resolveUrl', () => {
  it('prefers --url, then BAZAAR_URL, then the default', () => {
    expect(resolveUrl('http://a:1', { BAZAAR_URL: 'http://b:2' })).toBe('http://a:1');
    expect(resolveUrl(undefined, { BAZAAR_URL: 'http://b:2' })).toBe('http://b:2');
    expect(resolveUrl(undefined, { BAZAAR_URL: '' })).toBe('http://127.0.0.1:30001');
    expect(resolveUrl(undefined, {})).toBe('http://127.0.0.1:30001');
  });

  it('names BAZAAR_URL when that is what is wrong', () => {
    expect(usageMessage(() => resolveUrl(undefined, { BAZAAR_URL: 'nope' }))).toBe(
      'BAZAAR_URL must be an http(s) URL such as http://127.0.0.1:30001 (got "nope")',
    );
  });
});

describe('single-operation arguments', () => {
  it('keeps the trade type spelling and rejects anything but buy/sell', () => {
    expect(parseTradeType('SeLL')).toBe('SeLL');
    expect(usageMessage(() => parseTradeType('hold'))).toBe('trade type must be buy or sell (got "hold")');
  });

  it('accepts positive integer quantities only', () => {
    expect(parseQuantity('7')).toBe(7);
    for (const bad of ['0', '-3', '1.5', 'x', '1000001']) {
      expect(usageMessage(() => parseQuantity(bad))).toBe(`quantity must be an integer between 1 and 1000000 (got "${bad}")`);
    }
  });

  it('checks idempotency keys', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('k-1')).toBe('k-1');
    expect(usageMessage(() => parseIdempotencyKey('has space'))).toMatch(/^--key must be/);
    // Reserved for the ids the leader derives: the front end refuses it (400), so the client does first.
    expect(usageMessage(() => parseIdempotencyKey('reuse-x'))).toMatch(/^--key must be .*not starting with reuse-/);
    expect(parseIdempotencyKey('x-reuse-')).toBe('x-reuse-');
  });
});

describe('--json under npm run client', () => {
  // `npm run client` runs the client from the package root; the user typed the command in INIT_CWD.
  const npm = { npm_lifecycle_event: 'client', INIT_CWD: '/home/me/results' };

  it('takes a relative path from where the command was typed', () => {
    expect(parseLoadArgs({ json: 'run1.json' }, npm).json).toBe('/home/me/results/run1.json');
    expect(parseSweepArgs({ json: 'sub/sweep.json' }, npm).json).toBe('/home/me/results/sub/sweep.json');
  });

  it('keeps an absolute path, and a relative one when not run by `npm run client`', () => {
    expect(parseLoadArgs({ json: '/tmp/x.json' }, npm).json).toBe('/tmp/x.json');
    expect(parseLoadArgs({ json: 'x.json' }, { INIT_CWD: '/elsewhere', npm_lifecycle_event: 'bench:lab' }).json).toBe('x.json');
  });
});
