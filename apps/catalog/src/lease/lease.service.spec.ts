import { ConfigService } from '@nestjs/config';
import { CatalogEnv } from '@app/contracts';
import { LeaseService, monotonicMs, NotAFrontend, sleepUntil } from './lease.service';
import { setTimeout as delay } from 'node:timers/promises';

function leases(values: Partial<CatalogEnv> = {}) {
  const all: Partial<CatalogEnv> = { CACHE_LEASE_MS: 1000, LEASE_MARGIN_MS: 200, INVALIDATION_TIMEOUT_MS: 1000, FRONTEND_URL: 'http://127.0.0.1:30001', ...values };
  return new LeaseService({ get: (key: keyof CatalogEnv) => all[key] } as unknown as ConfigService<CatalogEnv, true>);
}

const A = 'http://127.0.0.1:30001';
const B = 'http://127.0.0.1:30002';

describe('catalog lease arithmetic', () => {
  it('records an expiry of its receive time + the lease + the margin, and says how long the lease is', () => {
    const l = leases();
    const g = l.grant(A, undefined, undefined, 10_000);
    expect(g).toMatchObject({ lease_ms: 1000, catalog: l.instance, grant: 1, invalidate: [], wait_ms: 2200 }); // a push's timeout + the lease + the margin
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

  it('carries, with the stocks of a push under way, the trade volumes their changes reach (the highest of their pushes)', () => {
    const l = leases();
    const g1 = l.grant(A, undefined, undefined, 0);
    expect(g1).not.toHaveProperty('trade_volumes'); // nothing carried, nothing to say
    const [lease] = l.holders(1);
    l.beforePush(lease, ['Stock4', 'Stock2'], [5, 12]);
    // A renewal the catalog answers while that push is under way.
    const g2 = l.grant(A, l.instance, g1.grant, 100);
    expect(g2).toMatchObject({ grant: 2, invalidate: ['Stock4', 'Stock2'], trade_volumes: [5, 12] });
    l.delivered(lease, ['Stock4', 'Stock2']); // carried already: still pending until acknowledged
    l.beforePush(lease, ['Stock4'], [9]); // a later trade of Stock4
    l.beforePush(lease, ['Stock4'], [7]); // (pushes in another order than their volumes)
    const g3 = l.grant(A, l.instance, g1.grant, 200);
    expect(g3).toMatchObject({ invalidate: ['Stock4', 'Stock2'], trade_volumes: [9, 12] });
    // Acknowledged: forgotten, volumes and all; a new push starts afresh.
    expect(l.grant(A, l.instance, g3.grant, 300)).toMatchObject({ invalidate: [] });
    l.beforePush(lease, ['Stock4'], [3]);
    expect(l.grant(A, l.instance, g3.grant, 400)).toMatchObject({ invalidate: ['Stock4'], trade_volumes: [3] });
  });

  it('carries no volumes while a stock pushed without one is pending, until that is acknowledged', () => {
    const l = leases();
    const g1 = l.grant(A, undefined, undefined, 0);
    const [lease] = l.holders(1);
    l.beforePush(lease, ['Stock4'], [5]);
    l.beforePush(lease, ['Stock3']); // no volume: unknown
    const g2 = l.grant(A, l.instance, g1.grant, 100);
    expect(g2.invalidate).toEqual(['Stock4', 'Stock3']);
    expect(g2).not.toHaveProperty('trade_volumes');
    l.beforePush(lease, ['Stock3'], [8]); // a volume now does not make the earlier push's known
    expect(l.grant(A, l.instance, g1.grant, 150)).not.toHaveProperty('trade_volumes');
    l.beforePush(lease, ['Stock2'], [1]);
    const carrying = l.grant(A, l.instance, g1.grant, 200);
    expect(carrying.invalidate).toEqual(['Stock4', 'Stock3', 'Stock2']);
    expect(carrying).not.toHaveProperty('trade_volumes');
    l.delivered(lease, ['Stock3', 'Stock2']); // carried already: pending still
    expect(l.grant(A, l.instance, g1.grant, 300)).not.toHaveProperty('trade_volumes');
    // The grant that carried them acknowledged: all forgotten; the next push of Stock3 names its volume.
    const after = l.grant(A, l.instance, carrying.grant, 400);
    expect(after.invalidate).toEqual([]);
    l.beforePush(lease, ['Stock3'], [10]);
    expect(l.grant(A, l.instance, after.grant, 500)).toMatchObject({ invalidate: ['Stock3'], trade_volumes: [10] });
    l.beforePush(lease, ['Stock1'], [1, 2]); // a list that does not match the names is no volume either
    expect(l.grant(A, l.instance, after.grant, 600)).not.toHaveProperty('trade_volumes');
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

  it('holds a lease for one process of a front end: another with the same id gets none until it has ended, then takes it over afresh', () => {
    const l = leases();
    l.grant(A, undefined, undefined, 0, 'p1');
    expect(l.grant(A, undefined, undefined, 300, 'p1')).toMatchObject({ grant: 2 }); // a renewal
    const [lease] = l.holders(300);
    l.beforePush(lease, ['Stock1'], [4]);
    // A second process named alike (two containers binding 0.0.0.0, or a restart): refused while the lease lasts.
    expect(() => l.grant(A, undefined, undefined, 400, 'p2')).toThrow(/another process of front end/);
    expect(() => l.grant(A, undefined, undefined, 400)).toThrow(NotAFrontend); // one that names no process is another one too
    expect(l.holders(400)).toMatchObject([{ holder: A, instance: 'p1' }]);
    // Ended (300 + 1000 + 200): the new process takes it over, with nothing pending from the old one's.
    expect(l.grant(A, undefined, undefined, 1500, 'p2')).toMatchObject({ grant: 3, invalidate: [] });
    expect(l.holders(1500)).toMatchObject([{ holder: A, instance: 'p2' }]);
    expect(() => l.grant(A, undefined, undefined, 1600, 'p1')).toThrow(NotAFrontend);
  });
});

describe('sleepUntil', () => {
  it('never resolves before the monotonic clock reaches its deadline (a timer may fire up to a millisecond early by it)', async () => {
    // A plain setTimeout of the milliseconds left resolved early in about 1 of 200 of these here.
    for (let i = 0; i < 300; i++) {
      const deadline = monotonicMs() + 1 + Math.random() * 3;
      await sleepUntil(deadline);
      expect(monotonicMs()).toBeGreaterThanOrEqual(deadline);
    }
  });
});
