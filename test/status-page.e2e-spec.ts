import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import type { ClusterStatusResponse } from '@app/contracts';
import { Cluster, http, placeOrder, waitFor } from './support/cluster';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The status page (`GET /status`) in a real browser (Debian's chromium, driven by playwright-core)
 * against a real cluster: it shows the leader and the replicas, a leader change soon after the
 * leader is killed, and the killed replica catching up once restarted. Also `GET /status.json`'s
 * shape, that it never carries the cluster token, and the 401 detail for a replica with another token.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** How long the page may take to show a change the cluster has made. */
const PAGE_BOUND_MS = 10_000;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`status page e2e: no browser at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH); CI must not skip this suite`);
}
if (!haveChromium) console.log(`status page e2e SKIPPED: no browser at ${CHROMIUM} (install chromium or set CHROMIUM_PATH)`);
const describeWithBrowser = haveChromium ? describe : describe.skip;

/** The page's view as its data-testid hooks show it. */
function shown(page: Page) {
  return page.evaluate(() => {
    const leader = document.querySelector('[data-testid="leader"]') as HTMLElement;
    const rows = [...document.querySelectorAll('tr[data-testid^="replica-"]')] as HTMLElement[];
    return {
      leader: leader.dataset.leaderId ?? '',
      leaderText: leader.textContent,
      epoch: document.querySelector('[data-testid="epoch"]')!.textContent,
      catalog: document.querySelector('[data-testid="catalog"]')!.textContent,
      replicas: rows.map((r) => ({ id: r.dataset.testid, state: r.dataset.state, lag: r.querySelector('[data-testid^="lag-"]')!.textContent })),
      changes: [...document.querySelectorAll('[data-testid="leader-changes"] tr')].map((r) => r.textContent),
    };
  });
}

type Shown = Awaited<ReturnType<typeof shown>>;

/**
 * Waits until the page shows what `ok` accepts, for at most `timeoutMs`; on timeout, fails with
 * what it showed last. (Under load a status call can miss the ping timeout now and then, so a
 * single reading may show a replica down for one refresh: the page is judged on what it settles to.)
 */
async function waitShown(page: Page, what: string, ok: (s: Shown) => boolean, timeoutMs = PAGE_BOUND_MS): Promise<Shown> {
  const deadline = Date.now() + timeoutMs;
  let last: Shown | undefined;
  while (Date.now() < deadline) {
    last = await shown(page);
    if (ok(last)) return last;
    await delay(50);
  }
  throw new Error(`the page did not show ${what} within ${timeoutMs} ms; it showed ${JSON.stringify(last)}`);
}

const states = (s: Shown) => s.replicas.map((r) => `${r.id}:${r.state}`).join(' ');

describeWithBrowser('status page (browser)', () => {
  let c: Cluster;
  let browser: Browser;
  let page: Page;
  const outDir = resolve(__dirname, '..', 'results', `status-page-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const pageProblems: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    c = await Cluster.start();
    // playwright gives every launch a fresh temporary profile (user-data-dir) and removes it on close.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageProblems.push(`console: ${msg.text()}`);
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(`${c.frontend}/`)) foreignRequests.push(req.url());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await c?.stop();
  });

  it('shows leader 3 and three replicas, then the new leader within the bound after a kill, then replica 3 caught up', async () => {
    await page.goto(`${c.frontend}/status`);
    const before = await waitShown(
      page,
      'leader 3 and three replicas',
      (s) => s.leader === '3' && states(s) === 'replica-1:ready replica-2:ready replica-3:leader' && s.catalog === 'up',
    );
    expect(before).toMatchObject({ leaderText: 'order-3', replicas: [{ lag: '0' }, { lag: '0' }, { lag: '0' }] });
    const epochBefore = Number(before.epoch);

    await c.kill('order-3');
    const killedAt = Date.now();
    await page.waitForFunction(
      () => {
        const leader = (document.querySelector('[data-testid="leader"]') as HTMLElement).dataset.leaderId;
        const row = document.querySelector('tr[data-testid="replica-3"]') as HTMLElement | null;
        return !!leader && leader !== '3' && row?.dataset.state === 'down';
      },
      undefined,
      { timeout: PAGE_BOUND_MS, polling: 50 },
    );
    console.log(`status page: new leader and replica 3 down shown ${Date.now() - killedAt} ms after the kill`);
    const after = await waitShown(page, 'leader 2, replica 3 down', (s) => s.leader === '2' && states(s) === 'replica-1:ready replica-2:leader replica-3:down');
    expect(Number(after.epoch)).toBeGreaterThan(epochBefore);
    expect(after.replicas[2].lag).toBe('—');
    // The leader changes table names the change and why it happened.
    const named = await waitShown(page, 'the leader change', (s) => /order-2/.test(s.changes[0] ?? ''));
    expect(named.changes[0]).toMatch(/order-2.*leader 3/);

    // Orders placed while replica 3 is down: it has them to catch up on when it comes back.
    for (let i = 0; i < 20; i++) {
      expect((await placeOrder(c.frontend, { stock_name: `Stock${1 + (i % 5)}`, trade_type: 'buy', quantity: 1 })).status).toBe(200);
    }
    mkdirSync(outDir, { recursive: true });
    const screenshot = join(outDir, 'leader-killed.png');
    await waitShown(page, 'replica 1 in step with the leader', (s) => states(s) === 'replica-1:ready replica-2:leader replica-3:down' && s.replicas[0].lag === '0');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`status page screenshot (leader killed): ${screenshot}`);

    // Restarted, it catches up: the page shows it ready again, no order behind the leader. Every
    // state the page draws for it meanwhile is recorded, to show the catch-up's progress.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { replica3Seen: string[] }).replica3Seen = seen;
      new MutationObserver(() => {
        const row = document.querySelector('tr[data-testid="replica-3"]') as HTMLElement | null;
        const entry = `${row?.dataset.state} lag ${row?.querySelector('[data-testid="lag-3"]')?.textContent}`;
        if (seen[seen.length - 1] !== entry) seen.push(entry);
      }).observe(document.querySelector('[data-testid="replicas"]')!, { childList: true });
    });
    await c.startReplica(3);
    await waitShown(page, 'replica 3 ready, caught up', (s) => s.replicas[2]?.state === 'ready' && s.replicas[2].lag === '0', 30_000);
    const seen = await page.evaluate(() => (window as unknown as { replica3Seen: string[] }).replica3Seen);
    console.log(`status page: replica 3 as drawn while it came back: ${seen.join(' → ')}`);
    // While it recovers, the page shows how far behind it is, and that only shrinks.
    const recoveringLags = seen.filter((e) => e.startsWith('recovering')).map((e) => e.split(' lag ')[1]);
    for (const lag of recoveringLags) expect(lag).toMatch(/^\d+$/);
    expect(recoveringLags.map(Number)).toEqual([...recoveringLags.map(Number)].sort((a, b) => b - a));
    // Leadership is sticky: the restarted replica does not take it back.
    await waitShown(page, 'leader 2 with both followers ready', (s) => s.leader === '2' && states(s) === 'replica-1:ready replica-2:leader replica-3:ready');
    const restored = join(outDir, 'replica-restarted.png');
    await page.screenshot({ path: restored, fullPage: true });
    console.log(`status page screenshot (replica 3 caught up): ${restored}`);

    expect(pageProblems).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('serves /status.json in the contract shape, without the cluster token, and the page as HTML under a CSP', async () => {
    expect((await placeOrder(c.frontend, { stock_name: 'Stock8', trade_type: 'buy', quantity: 1 })).status).toBe(200);
    const leaderId = await c.leaderId();
    const res = await waitFor('a view with every replica answering', async () => {
      const r = await http<ClusterStatusResponse>(`${c.frontend}/status.json`);
      return r.body.replicas.every((x) => x.state !== 'down') ? r : undefined;
    }, 20_000);
    expect(res.status).toBe(200);
    expect(c.token.length).toBeGreaterThan(10);
    expect(res.text).not.toContain(c.token);
    expect(res.text.toLowerCase()).not.toContain('x-cluster-token');
    const view = res.body;
    expect(Object.keys(view).sort()).toEqual(['cache', 'catalog', 'frontend', 'leader', 'leader_changes', 'replicas', 'time']);
    expect(view).toMatchObject({
      frontend: { pid: c.pid('frontend'), uptime_s: expect.any(Number) },
      catalog: { address: c.catalog, state: 'up' },
      leader: { id: leaderId, epoch: expect.any(Number), address: c.replica(leaderId) },
      cache: { enabled: true, hits: expect.any(Number), misses: expect.any(Number) },
    });
    expect(view.replicas.map((r) => [r.id, r.address, r.state])).toEqual(
      [1, 2, 3].map((id) => [id, c.replica(id), id === leaderId ? 'leader' : expect.stringMatching(/^(ready|recovering)$/)]),
    );
    const leaderRow = view.replicas.find((r) => r.id === leaderId)!;
    expect(leaderRow).toMatchObject({ role: 'leader', lag: 0, epoch: view.leader!.epoch });
    expect(leaderRow.last_no).toBeGreaterThanOrEqual(1);
    for (const r of view.replicas) {
      expect(Object.keys(r).filter((k) => k !== 'detail').sort()).toEqual(['address', 'commit_no', 'epoch', 'id', 'lag', 'last_no', 'role', 'state']);
      expect(r.lag).toBe(leaderRow.last_no! - r.last_no!);
    }
    expect(view.leader_changes[0]).toMatchObject({ leader: leaderId, epoch: view.leader!.epoch, reason: expect.any(String) });

    // Lookups move the hit ratio: one miss, then hits.
    for (let i = 0; i < 4; i++) expect((await http(`${c.frontend}/stocks?stock_name=Stock9`)).status).toBe(200);
    const stats = await waitFor('the lookups in the view', async () => {
      const cache = (await http<ClusterStatusResponse>(`${c.frontend}/status.json`)).body.cache;
      return cache.hits + cache.misses >= 4 ? cache : undefined;
    }, 5000);
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.hit_ratio).toBeCloseTo(stats.hits / (stats.hits + stats.misses), 10);

    const html = await fetch(`${c.frontend}/status`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).not.toContain(c.token);

    // Swagger documents both: a summary, and each answer with its content type and schema.
    const doc = (await http(`${c.frontend}/docs-json`)).body;
    const json = doc.paths['/status.json'].get;
    expect(json.summary).toEqual(expect.any(String));
    expect(Object.keys(json.responses['200'].content['application/json'].schema.properties)).toContain('replicas');
    const pageOp = doc.paths['/status'].get;
    expect(pageOp.summary).toEqual(expect.any(String));
    expect(pageOp.responses['200'].content['text/html'].schema).toEqual({ type: 'string' });
  });

  it("says so when a replica rejects this front end's cluster token (401), without showing either token", async () => {
    const wrongToken = 'not-the-cluster-token-0123456789';
    await c.kill('order-1');
    c.spawnApp('order-1', 'order', { ORDER_ID: '1', CLUSTER_TOKEN: wrongToken });
    const row = await waitFor('replica 1 shown as rejecting the token', async () => {
      const view = (await http<ClusterStatusResponse>(`${c.frontend}/status.json`)).body;
      const r = view.replicas.find((x) => x.id === 1);
      return r?.detail?.includes('401') ? r : undefined;
    }, 20_000);
    expect(row).toMatchObject({ state: 'down', detail: "rejects this front end's cluster token (401): check CLUSTER_TOKEN", lag: null });
    const text = (await http(`${c.frontend}/status.json`)).text;
    expect(text).not.toContain(wrongToken);
    expect(text).not.toContain(c.token);
    await page.waitForFunction(
      () => /cluster token \(401\)/.test(document.querySelector('tr[data-testid="replica-1"]')?.textContent ?? ''),
      undefined,
      { timeout: PAGE_BOUND_MS },
    );
    mkdirSync(outDir, { recursive: true });
    const screenshot = join(outDir, 'token-rejected.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`status page screenshot (replica 1 with another token): ${screenshot}`);
    expect(pageProblems).toEqual([]);
  });
});
