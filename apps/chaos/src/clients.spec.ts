import { jest } from '@jest/globals';
import { BazaarClient } from '@app/loadgen';
import { FrontendPicker, type SessionClients } from './clients';

/** A session's choice of front end: at random, leaving one that gave no answer alone for a second. */
describe('FrontendPicker', () => {
  const fe = (frontend: string): SessionClients => ({ frontend, reads: new BazaarClient({ url: 'http://127.0.0.1:1', timeoutMs: 1000 }), trades: new BazaarClient({ url: 'http://127.0.0.1:1', timeoutMs: 1000 }) });
  let now = 1_000_000;

  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  const picks = (p: FrontendPicker, n: number) => Array.from({ length: n }, () => p.next().frontend);

  it('always takes the only front end, answered or not', () => {
    const p = new FrontendPicker([fe('frontend')], 7, 1);
    p.answered('frontend', false);
    expect(new Set(picks(p, 20))).toEqual(new Set(['frontend']));
  });

  it('spreads the requests over every front end, the same way for the same seed and session', () => {
    const all = [fe('frontend'), fe('frontend-2'), fe('frontend-3')];
    const first = picks(new FrontendPicker(all, 7, 1), 60);
    expect(new Set(first)).toEqual(new Set(['frontend', 'frontend-2', 'frontend-3']));
    expect(picks(new FrontendPicker(all, 7, 1), 60)).toEqual(first);
    expect(picks(new FrontendPicker(all, 7, 2), 60)).not.toEqual(first);
  });

  it('leaves a front end that gave no answer alone for a second, then takes it again', () => {
    const p = new FrontendPicker([fe('frontend'), fe('frontend-2')], 7, 1);
    p.answered('frontend-2', false);
    expect(new Set(picks(p, 30))).toEqual(new Set(['frontend']));
    now += 999;
    expect(new Set(picks(p, 30))).toEqual(new Set(['frontend']));
    now += 1;
    expect(new Set(picks(p, 60))).toEqual(new Set(['frontend', 'frontend-2']));
  });

  it('takes one back at once when it answers, and every one when none is left', () => {
    const p = new FrontendPicker([fe('frontend'), fe('frontend-2')], 7, 1);
    p.answered('frontend-2', false);
    p.answered('frontend-2', true);
    expect(new Set(picks(p, 60))).toEqual(new Set(['frontend', 'frontend-2']));
    p.answered('frontend', false);
    p.answered('frontend-2', false);
    expect(new Set(picks(p, 60))).toEqual(new Set(['frontend', 'frontend-2']));
  });
});
