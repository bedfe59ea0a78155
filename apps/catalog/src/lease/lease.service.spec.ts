import { ConfigService } from '@nestjs/config';
import { CatalogEnv } from '@app/contracts';
import { LeaseService, NotAFrontend } from './lease.service';
import { setTimeout as delay } from 'node:timers/promises';

function leases(values: Partial<CatalogEnv> = {}) {
  const all: Partial<CatalogEnv> = { CACHE_LEASE_MS: 1000, LEASE_MARGIN_MS: 200, FRONTEND_URL: 'http://127.0.0.1:30001', ...values };
  return new LeaseService({ get: (key: keyof CatalogEnv) => all[key] } as unknown as ConfigService<CatalogEnv, true>);
}

const A = 'http://127.0.0.1:30001';
const B = 'http://127.0.0.1:30002';

describe('catalog lease arithmetic', () => {
  it('records an expiry of its receive time + the lease + the margin, and says how long the lease is', () => {
    const l = leases();
    const g = l.grant(A, undefined, undefined, 10_000);
    expect(g).toMatchObject({ lease_ms: 1000, catalog: l.instance, grant: 1, invalidate: [] });
    expect(l.holders(11_199).map((h) => h.url)).toEqual([A]);
    expect(l.holders(11_200)).toEqual([]);
  });

  it('extends, never shortens, the expiry on renewal', () => {
    const l = leases();
    l.grant(A, undefined, undefined, 10_000);
    l.grant(A, undefined, undefined, 10_500);
    expect(l.holders(11_699)).toHaveLength(1);
    expect(l.holders(11_700)).toHaveLength(0);
  });

  it('hands missed invalidations out in every grant until a grant carrying them is acknowledged', () => {
    const l = leases();
    const g1 = l.grant(A, undefined, undefined, 0);
    const [lease] = l.holders(1);
    const snap = l.beforePush(lease, ['Stock3']);
    expect(snap).toEqual({ expiresAt: 1200, grant: 1 });
    // The push fails; the next grants carry Stock3 until one of them is acknowledged.
    const g2 = l.grant(A, l.instance, g1.grant, 300);
    expect(g2).toMatchObject({ grant: 2, invalidate: ['Stock3'] });
    const g3 = l.grant(A, l.instance, g1.grant, 600); // g2's answer was lost: still carried
    expect(g3).toMatchObject({ grant: 3, invalidate: ['Stock3'] });
    const g4 = l.grant(A, l.instance, g3.grant, 900);
    expect(g4.invalidate).toEqual([]);
  });

  it('ignores an acknowledgement of another catalog process', () => {
    const l = leases();
    l.grant(A, undefined, undefined, 0);
    l.beforePush(l.holders(1)[0], ['Stock3']);
    const g2 = l.grant(A, l.instance, 1, 300);
    expect(l.grant(A, 'another', g2.grant, 600).invalidate).toEqual(['Stock3']);
  });

  it('forgets a delivered push that no grant has carried yet', () => {
    const l = leases();
    l.grant(A, undefined, undefined, 0);
    const [lease] = l.holders(1);
    l.beforePush(lease, ['Stock3']);
    l.delivered(lease, ['Stock3']);
    expect(l.grant(A, l.instance, 1, 300).invalidate).toEqual([]);
  });

  it('lets a trade whose push failed go once the lease as it stood then has ended, or a later grant is acknowledged', async () => {
    const l = leases({ CACHE_LEASE_MS: 100, LEASE_MARGIN_MS: 20 });
    const now = performance.now();
    l.grant(A, undefined, undefined, now);
    const [lease] = l.holders(now);
    const snap = l.beforePush(lease, ['Stock3']);
    const t0 = performance.now();
    await l.whenSafe(lease, snap);
    expect(performance.now()).toBeGreaterThanOrEqual(snap.expiresAt);
    expect(performance.now() - t0).toBeLessThan(500);

    const snap2 = l.beforePush(lease, ['Stock4']);
    let safe = false;
    const waiting = l.whenSafe(lease, { ...snap2, expiresAt: performance.now() + 60_000 }).then(() => (safe = true));
    const g = l.grant(A, l.instance, snap2.grant, performance.now()); // carries Stock4
    expect(g.invalidate).toContain('Stock4');
    await delay(5);
    expect(safe).toBe(false);
    l.grant(A, l.instance, g.grant, performance.now()); // acknowledges it
    await waiting;
    expect(safe).toBe(true);
  });

  it('maps a front end to its FRONTEND_URLS entry, refusing one it does not know and a second holder', () => {
    const l = leases({ FRONTEND_URLS: `${A},${B}/` });
    expect(l.frontends).toEqual([A, B]);
    expect(l.resolve(`${B}/`)).toBe(B);
    expect(l.resolve('http://0.0.0.0:30002')).toBe(B); // a wildcard bind, on B's port
    expect(l.resolve('http://10.1.1.1:30009')).toBeUndefined();
    expect(() => l.grant('http://10.1.1.1:30009', undefined, undefined, 0)).toThrow(NotAFrontend);
    const one = leases({ FRONTEND_URL: 'http://frontend:30001' });
    expect(one.resolve('http://127.0.0.1:30001')).toBe('http://frontend:30001');
    one.grant('http://127.0.0.1:30001', undefined, undefined, 0);
    expect(() => one.grant('http://127.0.0.1:30005', undefined, undefined, 100)).toThrow(NotAFrontend);
    expect(one.grant('http://127.0.0.1:30005', undefined, undefined, 1300)).toMatchObject({ grant: 2 });
  });
});
