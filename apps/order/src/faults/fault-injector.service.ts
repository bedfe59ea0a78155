import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { writeSync } from 'node:fs';
import { FaultPoint, OrderEnv } from '@app/contracts';

/**
 * Test-only crash points (`FAULT_POINT`, `FAULT_POINT_HIT`): the replica kills itself with
 * SIGKILL the Nth time execution reaches the named point, as an abrupt crash would.
 */
@Injectable()
export class FaultInjector {
  private readonly logger = new Logger(FaultInjector.name);
  private readonly point: FaultPoint;
  private readonly hit: number;
  private hits = 0;

  constructor(config: ConfigService<OrderEnv, true>) {
    this.point = config.get('FAULT_POINT', { infer: true });
    this.hit = config.get('FAULT_POINT_HIT', { infer: true });
    if (this.point !== 'none') this.logger.warn(`fault point armed: ${this.point} (hit ${this.hit})`);
  }

  reached(point: Exclude<FaultPoint, 'none'>): void {
    if (point !== this.point) return;
    if (++this.hits === this.hit) {
      // Written synchronously: the logger buffers, and SIGKILL would lose the line.
      writeSync(2, `${JSON.stringify({ level: 50, time: Date.now(), context: FaultInjector.name, msg: `fault point ${point} reached: crashing now` })}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
