import { Injectable } from '@nestjs/common';
import { VersionedLruCache } from '@app/cache';
import { monotonicNow } from '@app/common';
import { ClusterStatusResponse, ReplicaAddress, ReplicaStatusView, StockInfo } from '@app/contracts';
import { LeaderElectionService } from '../leader/leader-election.service';
import { ReplicasClient, StatusReading } from '../leader/replicas.client';
import { CatalogHealthClient } from './catalog-health.client';

/**
 * How long an assembled view is served again before the next one is assembled. The page polls
 * every 500 ms; with this, any number of viewers cost the replicas at most four rounds of status
 * calls a second.
 */
export const STATUS_TTL_MS = 250;

/** What {@link StatusService} says about a replica whose status call answered 401. */
export const TOKEN_REJECTED_DETAIL = "rejects this front end's cluster token (401): check CLUSTER_TOKEN";

/**
 * The cluster at a glance (`GET /status.json`), assembled from what the front end knows (the
 * elected leader, its leader changes, the cache's counters) and what it asks: every replica's
 * `/replication/status` in parallel (and `/ping`'s reason for one that is not ready) and the
 * catalog's `/health`, each within the ping timeout.
 *
 * A view is kept for {@link STATUS_TTL_MS}, and callers that arrive while one is being assembled
 * share it, so concurrent viewers do not multiply the load on the replicas.
 *
 * Public: the view carries states, positions and short fixed or reason strings, never a token,
 * header or internal answer body.
 */
@Injectable()
export class StatusService {
  private latest?: { at: number; view: ClusterStatusResponse };
  private assembling?: Promise<ClusterStatusResponse>;

  constructor(
    private readonly election: LeaderElectionService,
    private readonly replicas: ReplicasClient,
    private readonly cache: VersionedLruCache<StockInfo>,
    private readonly catalog: CatalogHealthClient,
  ) {}

  /** The latest view if it is younger than {@link STATUS_TTL_MS}, else the one being assembled, else a new one. */
  view(): Promise<ClusterStatusResponse> {
    if (this.latest && monotonicNow() - this.latest.at < STATUS_TTL_MS) return Promise.resolve(this.latest.view);
    this.assembling ??= this.assemble()
      .then((view) => {
        this.latest = { at: monotonicNow(), view };
        return view;
      })
      .finally(() => (this.assembling = undefined));
    return this.assembling;
  }

  private async assemble(): Promise<ClusterStatusResponse> {
    const [readings, catalogState] = await Promise.all([
      Promise.all(this.replicas.replicas.map(async (r) => ({ replica: r, reading: await this.replicas.readStatus(r) }))),
      this.catalog.state(),
    ]);
    // Read after the calls, so the view names the leader as of its replicas' answers.
    const leader = this.election.current;
    const leaderReading = leader && readings.find((r) => r.replica.id === leader.id)?.reading;
    const leaderLastNo = leaderReading?.kind === 'status' ? leaderReading.status.last_no : null;
    const replicas = await Promise.all(readings.map(({ replica, reading }) => this.replicaView(replica, reading, leader?.id ?? null, leaderLastNo)));
    const stats = this.cache.stats();
    const lookups = stats.hits + stats.misses;
    return {
      time: new Date().toISOString(),
      frontend: { pid: process.pid, uptime_s: Math.round(process.uptime()) },
      catalog: { address: this.catalog.address, state: catalogState },
      leader: leader ? { id: leader.id, epoch: leader.epoch, address: leader.url } : null,
      replicas,
      cache: { ...stats, hit_ratio: lookups > 0 ? stats.hits / lookups : null },
      leader_changes: this.election.history.map((c) => ({ ...c })),
    };
  }

  /**
   * leader: the elected one (when it answers); ready / recovering: answers its status, ready or
   * not; down: no answer, or it refuses this front end (401). A replica that is not ready is asked
   * `/ping` for its reason.
   */
  private async replicaView(
    replica: ReplicaAddress,
    reading: StatusReading,
    leaderId: number | null,
    leaderLastNo: number | null,
  ): Promise<ReplicaStatusView> {
    const base = { id: replica.id, address: replica.url };
    const unknown = { role: null, epoch: null, last_no: null, commit_no: null, lag: null };
    if (reading.kind === 'unreachable') {
      const detail =
        reading.cause === 'refused'
          ? 'no answer: connection refused'
          : reading.cause === 'timeout'
            ? `no answer within ${this.replicas.statusTimeoutMs} ms`
            : 'no answer';
      return { ...base, state: 'down', ...unknown, detail };
    }
    if (reading.kind === 'refused') {
      if (reading.httpStatus === 401) return { ...base, state: 'down', ...unknown, detail: TOKEN_REJECTED_DETAIL };
      const ping = await this.replicas.pingReading(replica);
      const reason = ping.reason ? `; ${ping.reason}` : '';
      return { ...base, state: ping.state === 'down' ? 'down' : 'recovering', ...unknown, detail: `status answered HTTP ${reading.httpStatus}${reason}` };
    }
    const s = reading.status;
    const position = {
      role: s.role,
      epoch: s.epoch,
      last_no: s.last_no,
      commit_no: s.commit_no,
      lag: leaderLastNo === null ? null : leaderLastNo - s.last_no,
    };
    if (replica.id === leaderId) {
      const detail = s.role === 'promoting' ? 'elected; catching up before it takes a trade' : undefined;
      return { ...base, state: 'leader', ...position, ...(detail ? { detail } : {}) };
    }
    if (s.ready) {
      const claims = s.role === 'leader' || s.role === 'promoting';
      return { ...base, state: 'ready', ...position, ...(claims ? { detail: `still claims to lead epoch ${s.epoch}` } : {}) };
    }
    const ping = await this.replicas.pingReading(replica);
    const detail = ping.state === 'ready' ? undefined : (ping.reason ?? 'not ready');
    return { ...base, state: 'recovering', ...position, ...(detail ? { detail } : {}) };
  }
}
