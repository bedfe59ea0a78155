import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import {
  FrontendEnv,
  OrderQueryResponse,
  OrderRoutes,
  PlaceOrderDto,
  ReplicaAddress,
  ReplicaStatus,
} from '@app/contracts';

/** The front end's HTTP calls to order replicas. Statuses are returned; transport errors thrown. */
@Injectable()
export class ReplicasClient {
  readonly replicas: ReplicaAddress[];
  private readonly pingTimeoutMs: number;
  private readonly forwardTimeoutMs: number;

  constructor(
    private readonly http: HttpService,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.replicas = config.get('ORDER_REPLICAS', { infer: true });
    this.pingTimeoutMs = config.get('PING_TIMEOUT_MS', { infer: true });
    this.forwardTimeoutMs = config.get('FORWARD_TIMEOUT_MS', { infer: true });
  }

  /** True when the replica answers `/ping` with 200 (up, database reachable, recovered). */
  async ping(replica: ReplicaAddress): Promise<boolean> {
    try {
      const res = await firstValueFrom(this.http.get(`${replica.url}/${OrderRoutes.ping}`, { timeout: this.pingTimeoutMs }));
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async status(replica: ReplicaAddress): Promise<ReplicaStatus | null> {
    try {
      const res = await firstValueFrom(
        this.http.get<ReplicaStatus>(`${replica.url}/${OrderRoutes.status}`, { timeout: this.pingTimeoutMs }),
      );
      return res.status === 200 ? res.data : null;
    } catch {
      return null;
    }
  }

  /** Announces the leader of `epoch`; true when the replica accepted it. */
  async announce(replica: ReplicaAddress, leader: number, epoch: number): Promise<boolean> {
    try {
      const res = await firstValueFrom(
        this.http.get(`${replica.url}/${OrderRoutes.leader}`, { params: { leader, epoch }, timeout: this.pingTimeoutMs }),
      );
      return res.status === 200;
    } catch {
      return false;
    }
  }

  trade(
    replica: ReplicaAddress,
    dto: PlaceOrderDto,
    requestId: string,
    epoch: number,
  ): Promise<AxiosResponse<{ order_no?: number; message?: string; code?: string }>> {
    return firstValueFrom(
      this.http.get(`${replica.url}/${OrderRoutes.trade}`, {
        params: { ...dto, request_id: requestId, epoch },
        timeout: this.forwardTimeoutMs,
      }),
    );
  }

  query(replica: ReplicaAddress, orderNo: number): Promise<AxiosResponse<OrderQueryResponse>> {
    return firstValueFrom(
      this.http.get<OrderQueryResponse>(`${replica.url}/${OrderRoutes.query}`, {
        params: { order_no: orderNo },
        timeout: this.forwardTimeoutMs,
      }),
    );
  }
}
