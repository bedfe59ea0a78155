import { createHash } from 'node:crypto';
import { FrontendRoutes } from '@app/contracts';

/**
 * The status page (`GET /status`): one self-contained HTML document — inline CSS and script, no
 * external URL, no build step — that fetches `status.json` every {@link STATUS_POLL_MS} and redraws.
 * Kept as a TS constant so that `nest build` ships it with the code.
 *
 * Stable hooks for tests: `data-testid="leader"` (with `data-leader-id`), `epoch`, `catalog`,
 * `hit-ratio`, `connection`, and one `data-testid="replica-<id>"` row per replica with its state
 * in `data-state`.
 */
export const STATUS_POLL_MS = 500;

const STYLE = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde2ea; --bg: #f5f7fa; --card: #fff;
  --leader: #3b4fd8; --ready: #17803d; --recovering: #b26a00; --down: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; justify-content: space-between; gap: 16px;
  padding: 14px 24px; background: #1d2330; color: #fff; }
h1 { margin: 0; font-size: 20px; font-weight: 600; }
h1 span { font-weight: 400; color: #aab3c5; }
h2 { font-size: 16px; margin: 24px 0 8px; }
main { padding: 8px 24px 24px; max-width: 1280px; }
.conn { font-size: 13px; padding: 4px 10px; border-radius: 12px; background: #2f3a4f; }
.conn.ok::before { content: "\\25CF  "; color: #4cd07d; }
.conn.bad { background: var(--down); }
body.stale main { opacity: .55; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; margin-top: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card.leader-card { border-left: 6px solid var(--leader); }
.label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.big { font-size: 30px; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; }
.sub { font-size: 13px; color: var(--muted); overflow-wrap: anywhere; }
.big.good { color: var(--ready); } .big.bad { color: var(--down); } .big.lead { color: var(--leader); }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
table.fixed { table-layout: fixed; }
.w7 { width: 7%; } .w8 { width: 8%; } .w9 { width: 9%; } .w10 { width: 10%; } .w11 { width: 11%; } .w14 { width: 14%; } .w17 { width: 17%; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: middle; overflow-wrap: anywhere; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); background: #eef1f6; }
tr:last-child td { border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.state { display: inline-block; min-width: 92px; text-align: center; padding: 2px 10px; border-radius: 12px;
  font-weight: 600; font-size: 13px; color: #fff; }
.state.leader { background: var(--leader); } .state.ready { background: var(--ready); }
.state.recovering { background: var(--recovering); } .state.down { background: var(--down); }
tr.down td { background: #fdf1f1; } tr.recovering td { background: #fff8ec; }
.bar { display: block; height: 4px; margin-top: 4px; margin-left: auto; background: var(--recovering); border-radius: 2px; }
.detail { color: var(--muted); font-size: 13px; }
tr.down .detail { color: var(--down); }
footer { padding: 0 24px 24px; font-size: 13px; color: var(--muted); }
footer a { color: inherit; }
`;

const SCRIPT = `
'use strict';
(() => {
  const POLL_MS = ${STATUS_POLL_MS};
  const TIMEOUT_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const maxLag = new Map(); // replica id -> largest lag since it was last caught up (the bar's 100 %)
  let failingSince = null;

  const num = (v) => (v === null || v === undefined ? '\\u2014' : String(v));
  const pad = (n, w) => String(n).padStart(w, '0');
  const clock = (iso) => {
    const d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  };
  const duration = (seconds) => {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  };
  const cell = (tr, value, cls) => {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = value;
    tr.appendChild(td);
    return td;
  };
  const set = (id, value, cls) => {
    const el = $(id);
    el.textContent = value;
    if (cls !== undefined) el.className = cls;
    return el;
  };

  function replicaRow(r) {
    const tr = document.createElement('tr');
    tr.className = r.state;
    tr.dataset.testid = 'replica-' + r.id;
    tr.dataset.state = r.state;
    cell(tr, 'order-' + r.id);
    cell(tr, r.address, 'mono');
    const state = document.createElement('span');
    state.className = 'state ' + r.state;
    state.textContent = r.state;
    cell(tr, '').appendChild(state);
    cell(tr, num(r.epoch), 'num');
    cell(tr, num(r.last_no), 'num');
    cell(tr, num(r.commit_no), 'num');
    const lag = cell(tr, num(r.lag), 'num');
    lag.dataset.testid = 'lag-' + r.id;
    if (typeof r.lag === 'number' && r.lag > 0) {
      const most = Math.max(maxLag.get(r.id) || 0, r.lag);
      maxLag.set(r.id, most);
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = Math.max(4, Math.round((100 * r.lag) / most)) + '%';
      bar.title = 'behind the leader (100 % = most behind since it was last caught up)';
      lag.appendChild(bar);
    } else if (r.lag === 0) {
      maxLag.delete(r.id);
    }
    cell(tr, r.detail || '', 'detail');
    return tr;
  }

  function changeRow(c) {
    const tr = document.createElement('tr');
    cell(tr, clock(c.at), 'mono');
    cell(tr, c.leader === null ? 'none' : 'order-' + c.leader);
    cell(tr, num(c.epoch), 'num');
    cell(tr, c.reason);
    return tr;
  }

  function render(s) {
    const leader = s.leader;
    const el = set('leader', leader ? 'order-' + leader.id : 'none', 'big ' + (leader ? 'lead' : 'bad'));
    el.dataset.leaderId = leader ? String(leader.id) : '';
    set('leader-address', leader ? leader.address : 'no replica is ready: trades are refused with 503');
    set('epoch', leader ? String(leader.epoch) : '\\u2014');
    set('catalog', s.catalog.state, 'big ' + (s.catalog.state === 'up' ? 'good' : 'bad'));
    set('catalog-address', s.catalog.address);
    const c = s.cache;
    set('hit-ratio', !c.enabled ? 'off' : c.hit_ratio === null ? '\\u2014' : (100 * c.hit_ratio).toFixed(1) + ' %');
    set('cache-detail', !c.enabled
      ? 'cache disabled: every lookup goes to the catalog'
      : c.hits + ' hits \\u00b7 ' + c.misses + ' misses \\u00b7 ' + c.size + '/' + c.capacity + ' entries \\u00b7 ' +
        c.invalidations + ' invalidations \\u00b7 ' + c.offers_taken + ' filled from trades');
    set('uptime', duration(s.frontend.uptime_s));
    set('pid', 'pid ' + s.frontend.pid);
    $('replicas').replaceChildren(...[...s.replicas].sort((a, b) => a.id - b.id).map(replicaRow));
    const changes = s.leader_changes.map(changeRow);
    if (!changes.length) {
      const tr = document.createElement('tr');
      cell(tr, 'none yet', 'detail').colSpan = 4;
      changes.push(tr);
    }
    $('changes').replaceChildren(...changes);
    set('updated', clock(s.time));
  }

  function connection(ok, why) {
    document.body.classList.toggle('stale', !ok);
    if (ok) {
      failingSince = null;
      set('connection', 'live', 'conn ok');
      return;
    }
    failingSince = failingSince || new Date().toISOString();
    set('connection', 'no answer from the front end since ' + clock(failingSince) + ' (' + why + '): showing the last view', 'conn bad');
  }

  async function poll() {
    const started = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const res = await fetch('${FrontendRoutes.statusJson}', { cache: 'no-store', signal: abort.signal });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      render(await res.json());
      connection(true);
    } catch (err) {
      connection(false, err && err.name === 'AbortError' ? 'timed out' : String((err && err.message) || err));
    } finally {
      clearTimeout(timer);
      setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
    }
  }
  poll();
})();
`;

const BODY = `
<header>
  <h1>Stock Bazaar <span>cluster status</span></h1>
  <div id="connection" class="conn" data-testid="connection">connecting\u2026</div>
</header>
<main>
  <section class="cards">
    <div class="card leader-card">
      <div class="label">Leader</div>
      <div id="leader" class="big" data-testid="leader" data-leader-id="">\u2014</div>
      <div id="leader-address" class="sub mono"></div>
    </div>
    <div class="card"><div class="label">Epoch</div><div id="epoch" class="big" data-testid="epoch">\u2014</div></div>
    <div class="card">
      <div class="label">Catalog</div><div id="catalog" class="big" data-testid="catalog">\u2014</div>
      <div id="catalog-address" class="sub mono"></div>
    </div>
    <div class="card">
      <div class="label">Cache hit ratio</div><div id="hit-ratio" class="big" data-testid="hit-ratio">\u2014</div>
      <div id="cache-detail" class="sub"></div>
    </div>
    <div class="card">
      <div class="label">Front end up</div><div id="uptime" class="big">\u2014</div>
      <div id="pid" class="sub"></div>
    </div>
  </section>
  <h2>Order replicas</h2>
  <table class="fixed">
    <colgroup><col class="w9"><col class="w17"><col class="w11"><col class="w7"><col class="w9">
      <col class="w10"><col class="w8"><col></colgroup>
    <thead><tr><th>Replica</th><th>Address</th><th>State</th><th class="num">Epoch</th><th class="num">Last order</th>
      <th class="num">Commit point</th><th class="num">Lag</th><th>Detail</th></tr></thead>
    <tbody id="replicas" data-testid="replicas"></tbody>
  </table>
  <h2>Recent leader changes</h2>
  <table class="fixed">
    <colgroup><col class="w14"><col class="w11"><col class="w7"><col></colgroup>
    <thead><tr><th>Time</th><th>Leader</th><th class="num">Epoch</th><th>Reason</th></tr></thead>
    <tbody id="changes" data-testid="leader-changes"></tbody>
  </table>
</main>
<footer>Redrawn every ${STATUS_POLL_MS} ms from <a href="${FrontendRoutes.statusJson}">${FrontendRoutes.statusJson}</a> (times are this browser's local time). Last view assembled at <span id="updated">\u2014</span>.</footer>
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stock Bazaar \u2014 cluster status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own inline style and script only (by hash), requests
 * to this origin only. A browser then refuses anything else, external URLs included.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
