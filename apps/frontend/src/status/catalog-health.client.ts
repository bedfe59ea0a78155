import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FrontendEnv } from '@app/contracts';

/** Whether the catalog answers its terminus `GET /health` (no token needed) within the ping timeout. */
@Injectable()
export class CatalogHealthClient {
  readonly address: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly http: HttpService,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.address = config.get('CATALOG_URL', { infer: true }).replace(/\/$/, '');
    this.timeoutMs = config.get('PING_TIMEOUT_MS', { infer: true });
  }

  async state(): Promise<'up' | 'down'> {
    try {
      const res = await this.http.axiosRef.get(`${this.address}/health`, { timeout: this.timeoutMs });
      return res.status === 200 ? 'up' : 'down';
    } catch {
      return 'down';
    }
  }
}
