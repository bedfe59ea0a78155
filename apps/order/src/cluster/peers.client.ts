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
import { Batcher, requestIdHeaders } from '@app/common';

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
    config: ConfigService<OrderEnv, true>,
  ) {
    this.timeoutMs = config.get('PEER_TIMEOUT_MS', { infer: true });
    this.catalogUrl = config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '');
  }

  private get<T>(url: string, params?: object, timeout = this.timeoutMs): Promise<AxiosResponse<T>> {
    return this.http.axiosRef.get<T>(url, { params, timeout });
  }

  private post<T>(url: string, body: object, requestId?: string): Promise<AxiosResponse<T>> {
    return this.http.axiosRef.post<T>(url, body, { timeout: this.timeoutMs, headers: requestIdHeaders(requestId) });
  }

  /** Status of one peer, or null when it cannot be reached. */
  async status(peer: ReplicaAddress): Promise<ReplicaStatus | null> {
    try {
      const res = await this.get<ReplicaStatus>(`${peer.url}/${OrderRoutes.status}`);
      return res.status === 200 ? res.data : null;
    } catch {
      return null;
    }
  }

  /**
   * Statuses of the reachable peers. With `enough`, resolves as soon as that many have answered
   * (an unresponsive peer — paused, partitioned — then costs nothing), else once every peer has
   * answered or timed out.
   */
  statuses(peers: ReplicaAddress[], enough = peers.length): Promise<{ peer: ReplicaAddress; status: ReplicaStatus }[]> {
    return new Promise((resolve) => {
      const answered: { peer: ReplicaAddress; status: ReplicaStatus }[] = [];
      let pending = peers.length;
      const done = () => resolve([...answered]);
      if (pending === 0 || enough <= 0) return done();
      for (const peer of peers) {
        void this.status(peer).then((status) => {
          if (status) answered.push({ peer, status });
          pending--;
          if (pending === 0 || answered.length >= enough) done();
        });
      }
    });
  }

  /** A page of a peer's log; throws when the peer cannot serve it. */
  async logPage(peer: ReplicaAddress, after: number, limit: number): Promise<OrderLogPage> {
    const res = await this.get<OrderLogPage>(`${peer.url}/${OrderRoutes.log}`, { after, limit });
    if (res.status !== 200) throw new Error(`replica ${peer.id} answered ${res.status} for its log`);
    return res.data;
  }

  sync(peer: ReplicaAddress, body: SyncDto): Promise<AxiosResponse<{ last_no?: number; code?: string; message?: string }>> {
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
