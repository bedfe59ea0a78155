import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AxiosResponse } from 'axios';
import {
  BatchItemResult,
  CatalogRoutes,
  CatalogTradeBatchDto,
  CatalogTradeDto,
  CatalogTradesPage,
  OrderEnv,
  OrderLogPage,
  OrderRoutes,
  MAX_TRADE_BATCH,
  ReplicaAddress,
  ReplicaStatus,
  SyncDto,
  TradeBatchResponse,
} from '@app/contracts';
import { Batcher, HopClient, HopResponse, requestIdHeaders } from '@app/common';

/**
 * Every peer that answered refused this replica's cluster token (401): its `CLUSTER_TOKEN` is not
 * the cluster's. A configuration error, not an unreachable peer: such a replica must not act as
 * if it were alone.
 */
export class ClusterTokenRejected extends Error {
  override readonly name = 'ClusterTokenRejected';

  constructor(peers: ReplicaAddress[]) {
    super(
      `${peers.map((p) => `replica ${p.id} (${p.url})`).join(' and ')} rejected this replica's cluster token (401): ` +
        'set the same CLUSTER_TOKEN (or CLUSTER_TOKEN_FILE, or DATA_DIR with its cluster-token file) as the rest of the cluster',
    );
  }
}

type Probe = { peer: ReplicaAddress; status: ReplicaStatus | null; rejected: boolean };

/** HTTP calls from a replica to its peers and to the catalog. Statuses are returned, transport errors thrown. */
@Injectable()
export class PeersClient {
  readonly timeoutMs: number;
  private readonly catalogUrl: string;
  private readonly tradeBatches = new Batcher<CatalogTradeDto, BatchItemResult>((trades, requestId) => this.postTradeBatch(trades, requestId), {
    maxBatch: MAX_TRADE_BATCH,
  });

  constructor(
    private readonly http: HttpService,
    private readonly hops: HopClient,
    config: ConfigService<OrderEnv, true>,
  ) {
    this.timeoutMs = config.get('PEER_TIMEOUT_MS', { infer: true });
    this.catalogUrl = config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '');
  }

  private get<T>(url: string, params?: object, timeout = this.timeoutMs): Promise<AxiosResponse<T>> {
    return this.http.axiosRef.get<T>(url, { params, timeout });
  }

  /** The trade path's POSTs (syncs, catalog trades) go through the lighter {@link HopClient}. */
  private post<T>(url: string, body: object, requestId?: string): Promise<HopResponse<T>> {
    return this.hops.post<T>(url, body, { timeoutMs: this.timeoutMs, headers: requestIdHeaders(requestId) });
  }

  /** Status of one peer, or null when it cannot be reached. */
  async status(peer: ReplicaAddress): Promise<ReplicaStatus | null> {
    return (await this.probe(peer)).status;
  }

  /**
   * Asks a peer to adopt `epoch` led by `leader` (`GET /leader`, the front end's announcement);
   * true once it has, durably. A peer that adopted an epoch applies no sync of an older one.
   */
  async adoptEpoch(peer: ReplicaAddress, leader: number, epoch: number): Promise<boolean> {
    try {
      return (await this.get(`${peer.url}/${OrderRoutes.leader}`, { leader, epoch })).status === 200;
    } catch {
      return false;
    }
  }

  private async probe(peer: ReplicaAddress): Promise<Probe> {
    try {
      const res = await this.get<ReplicaStatus>(`${peer.url}/${OrderRoutes.status}`);
      return { peer, status: res.status === 200 ? res.data : null, rejected: res.status === 401 };
    } catch {
      return { peer, status: null, rejected: false };
    }
  }

  /**
   * Statuses of the reachable peers. With `enough`, resolves as soon as that many have answered
   * (an unresponsive peer — paused, partitioned — then costs nothing), else once every peer has
   * answered or timed out. Rejects with {@link ClusterTokenRejected} when no peer answered but
   * some refused this replica's token: then this replica is the misconfigured one (a single peer
   * with a wrong token, refused while another peer answers, is that peer's problem).
   */
  statuses(peers: ReplicaAddress[], enough = peers.length): Promise<{ peer: ReplicaAddress; status: ReplicaStatus }[]> {
    return new Promise((resolve, reject) => {
      const answered: { peer: ReplicaAddress; status: ReplicaStatus }[] = [];
      const rejectedBy: ReplicaAddress[] = [];
      let pending = peers.length;
      const done = () => (answered.length === 0 && rejectedBy.length > 0 ? reject(new ClusterTokenRejected(rejectedBy)) : resolve([...answered]));
      if (pending === 0 || enough <= 0) return done();
      for (const peer of peers) {
        void this.probe(peer).then(({ status, rejected }) => {
          if (status) answered.push({ peer, status });
          if (rejected) rejectedBy.push(peer);
          pending--;
          if (pending === 0 || answered.length >= enough) done();
        });
      }
    });
  }

  /**
   * Tells a peer that its copy of `orderNo` differs from this replica's and a third replica's
   * (`POST /replication/compare`): it checks, and compares its whole log again if so. Its answer's
   * message; throws when it cannot be reached.
   */
  async askToCompare(peer: ReplicaAddress, from: number, orderNo: number): Promise<string> {
    const res = await this.http.axiosRef.post<{ message?: string; error?: { message?: string } }>(
      `${peer.url}/${OrderRoutes.compare}`,
      { from, order_no: orderNo },
      { timeout: this.timeoutMs },
    );
    return `${res.status} ${res.data?.message ?? res.data?.error?.message ?? ''}`.trim();
  }

  /** A page of a peer's log; throws when the peer cannot serve it. */
  async logPage(peer: ReplicaAddress, after: number, limit: number): Promise<OrderLogPage> {
    const res = await this.get<OrderLogPage>(`${peer.url}/${OrderRoutes.log}`, { after, limit });
    if (res.status !== 200) throw new Error(`replica ${peer.id} answered ${res.status} for its log`);
    return res.data;
  }

  sync(peer: ReplicaAddress, body: SyncDto): Promise<HopResponse<{ last_no?: number; code?: string; message?: string }>> {
    return this.post(`${peer.url}/${OrderRoutes.sync}`, body);
  }

  /**
   * Trades at the catalog. Concurrent trades travel together: everything submitted while one
   * `POST /trade/batch` is under way goes in the next, decided by the catalog in one transaction.
   * Resolves with the trade's own status and message; rejects when the catalog cannot be reached.
   * The batch's request carries the id of its first trade's request (`requestId`).
   */
  catalogTrade(body: CatalogTradeDto, requestId?: string): Promise<BatchItemResult> {
    return this.tradeBatches.submit(body, requestId);
  }

  private async postTradeBatch(trades: CatalogTradeDto[], requestId: string | undefined): Promise<BatchItemResult[]> {
    const batch: CatalogTradeBatchDto = { trades };
    const res = await this.post<TradeBatchResponse & { message?: string }>(
      `${this.catalogUrl}/${CatalogRoutes.tradeBatch}`,
      batch,
      requestId,
    );
    if (res.status === 200 && res.data.results?.length === trades.length) return res.data.results;
    // The batch as a whole was refused (e.g. 401): every trade of it gets that answer.
    return trades.map(() => ({ status: res.status, message: res.data?.message }));
  }

  async catalogTrades(after: number, limit: number): Promise<CatalogTradesPage> {
    const res = await this.get<CatalogTradesPage>(`${this.catalogUrl}/${CatalogRoutes.trades}`, { after, limit });
    if (res.status !== 200) throw new Error(`catalog answered ${res.status} for its trades`);
    return res.data;
  }
}
