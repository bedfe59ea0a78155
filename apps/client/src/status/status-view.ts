import type { ClusterStatusResponse, LeaderChange, ReplicaStatusView } from '@app/contracts';
import { renderTable } from '@app/loadgen';

/** Clears the terminal and puts the cursor top left: `--watch` draws each frame after it. */
export const CLEAR_SCREEN = '\x1b[H\x1b[2J\x1b[3J';

/** Most leader changes listed (the front end keeps up to 20). */
export const MAX_LEADER_CHANGES_SHOWN = 10;

/** `-` for a figure the front end could not learn (the replica did not answer). */
function num(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

/** `2024-01-02T03:04:05.678Z` → `03:04:05` (UTC, as the front end reports it). */
function clock(iso: string): string {
  const match = /T(\d\d:\d\d:\d\d)/.exec(iso);
  return match ? match[1] : iso;
}

/** `95 s` → `1m 35s`; `4000 s` → `1h 6m`; `3 d` → `3d 0h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** How long before `now` an ISO time was, e.g. `2m 5s ago`; empty when either time is unreadable. */
function ago(iso: string, now: string): string {
  const diff = (Date.parse(now) - Date.parse(iso)) / 1000;
  return Number.isFinite(diff) ? `${duration(diff)} ago` : '';
}

function leaderLine(status: ClusterStatusResponse): string {
  const { leader } = status;
  if (!leader) return 'none — no replica is elected: trades are refused with 503 until one is';
  return `order-${leader.id}, epoch ${leader.epoch}, ${leader.address}`;
}

function replicaTable(replicas: readonly ReplicaStatusView[]): string {
  const header = ['replica', 'address', 'state', 'epoch', 'last order', 'commit', 'lag'];
  const rows = [...replicas]
    .sort((a, b) => a.id - b.id)
    .map((r) => [`order-${r.id}`, r.address, r.state, num(r.epoch), num(r.last_no), num(r.commit_no), num(r.lag)]);
  return renderTable(header, rows, ['left', 'left', 'left', 'right', 'right', 'right', 'right']);
}

function cacheLine(cache: ClusterStatusResponse['cache']): string {
  if (!cache.enabled) return `off (CACHE_ENABLED=false): every lookup goes to the catalog`;
  const ratio = cache.hit_ratio === null ? 'hit ratio - (no lookup yet)' : `hit ratio ${(cache.hit_ratio * 100).toFixed(1)} %`;
  return (
    `${ratio} (${cache.hits} hits, ${cache.misses} misses); ${cache.size}/${cache.capacity} entries, ` +
    `${cache.evictions} evictions, ${cache.invalidations} invalidations, ${cache.offers_taken} filled from trades`
  );
}

function leaderChangeRows(changes: readonly LeaderChange[], now: string): string[] {
  if (changes.length === 0) return ['  none since the front end started'];
  const shown = changes.slice(0, MAX_LEADER_CHANGES_SHOWN);
  const rows = shown.map((c) => [
    `  ${clock(c.at)}`,
    `(${ago(c.at, now)})`,
    c.leader === null ? 'no leader' : `order-${c.leader}`,
    c.epoch === null ? '' : `epoch ${c.epoch}`,
    c.reason,
  ]);
  const lines = renderTable(['  time (UTC)', '', 'leader', 'epoch', 'reason'], rows, ['left', 'left', 'left', 'left', 'left']).split('\n');
  if (changes.length > shown.length) lines.push(`  … and ${changes.length - shown.length} earlier`);
  return lines;
}

/**
 * The cluster at a glance, as `client status` prints it: the front end, the catalog, the leader,
 * a row per replica (state, epoch, last order, commit point, lag), the cache and the recent leader
 * changes. Pure: the same status always renders the same text (times are the front end's, in UTC).
 */
export function renderStatus(status: ClusterStatusResponse, url: string): string {
  const label = (name: string): string => name.padEnd(10);
  const lines = [
    `Stock Bazaar at ${url} — ${status.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${label('front end')} up ${duration(status.frontend.uptime_s)}, pid ${status.frontend.pid}`,
    `${label('catalog')} ${status.catalog.state}, ${status.catalog.address}`,
    `${label('leader')} ${leaderLine(status)}`,
    `${label('cache')} ${cacheLine(status.cache)}`,
    '',
    replicaTable(status.replicas),
  ];
  const notes = [...status.replicas].sort((a, b) => a.id - b.id).filter((r) => r.detail !== undefined && r.detail !== '');
  if (notes.length > 0) lines.push('', ...notes.map((r) => `order-${r.id}: ${r.detail}`));
  lines.push('', `leader changes (most recent first)`, ...leaderChangeRows(status.leader_changes, status.time));
  return `${lines.join('\n')}\n`;
}
