import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { ClusterTokenGuard, tokenMatches } from './cluster-token';

const TOKEN = 'a-long-enough-cluster-token';
const contextWith = (headers: Record<string, unknown>) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers }) }) }) as unknown as ExecutionContext;
const guard = (token?: string) => new ClusterTokenGuard({ get: () => token } as unknown as ConfigService<never, true>);

describe('cluster token', () => {
  const expected = createHash('sha256').update(TOKEN).digest();

  it('matches only the exact token, whatever the presented length or type', () => {
    expect(tokenMatches(expected, TOKEN)).toBe(true);
    for (const wrong of [undefined, '', TOKEN.slice(1), `${TOKEN} `, TOKEN.toUpperCase(), [TOKEN], 42]) {
      expect(tokenMatches(expected, wrong)).toBe(false);
    }
  });

  it('the guard lets the token through and answers 401 otherwise', () => {
    expect(guard(TOKEN).canActivate(contextWith({ 'x-cluster-token': TOKEN }))).toBe(true);
    expect(() => guard(TOKEN).canActivate(contextWith({}))).toThrow(UnauthorizedException);
    expect(() => guard(TOKEN).canActivate(contextWith({ 'x-cluster-token': 'nope' }))).toThrow(
      'missing or wrong cluster token (x-cluster-token header)',
    );
  });

  it('without a configured token every request passes', () => {
    expect(guard(undefined).canActivate(contextWith({}))).toBe(true);
  });
});
