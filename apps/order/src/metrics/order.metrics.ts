import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { counterOf, gaugeOf, labelledGaugeOf } from '@app/common';
import { REPLICA_ROLES } from '@app/contracts';
import { ClusterStateService } from '../cluster/cluster-state.service';
import { CatchUpService } from '../recovery/catch-up.service';
import { ReplicatorService } from '../replication/replicator.service';

/** A replica's metrics: role and epoch, its log, replication lag (leader), recovery progress. */
@Injectable()
export class OrderMetrics {
  /** Orders this replica appended as leader and acknowledged (replays not counted). */
  readonly ordersPlaced: Counter;

  constructor(registry: Registry, state: ClusterStateService, replicator: ReplicatorService, catchUp: CatchUpService) {
    this.ordersPlaced = new Counter({
      name: 'bazaar_orders_placed_total',
      help: 'Orders placed through this replica while it led (acknowledged once durable)',
      registers: [registry],
    });
    gaugeOf(registry, 'bazaar_order_epoch', 'Highest epoch this replica has seen', () => state.epoch);
    labelledGaugeOf(registry, 'bazaar_order_role', 'This replica’s role (1 for the current one)', 'role', () =>
      REPLICA_ROLES.map((r) => [r, state.role === r ? 1 : 0]),
    );
    gaugeOf(registry, 'bazaar_order_log_last_no', 'Number of the last order in this replica’s log', () => state.status().last_no);
    gaugeOf(registry, 'bazaar_order_commit_no', 'Highest order known to be held by a majority', () => state.status().commit_no);
    labelledGaugeOf(
      registry,
      'bazaar_replication_lag_orders',
      'Leader only: orders a follower has not confirmed yet',
      'follower',
      () => replicator.lag(),
    );
    labelledGaugeOf(
      registry,
      'bazaar_replication_sync_pending_seconds',
      'Leader only: how long the sync under way to a follower has awaited its answer (0: none under way)',
      'follower',
      () => replicator.followerTimes().pending,
    );
    labelledGaugeOf(
      registry,
      'bazaar_replication_contact_age_seconds',
      'Leader only: time since a follower last accepted a sync (since leading began, if it has not yet)',
      'follower',
      () => replicator.followerTimes().sinceContact,
    );
    counterOf(
      registry,
      'bazaar_replication_spare_rescues_total',
      'Leader only: times the spare followers were sent new orders early, because the followers counted on for the majority did not make them durable (a failed sync, SPARE_RESCUE_MS passed, or the leader’s own write still under way)',
      () => replicator.spareRescues,
    );
    counterOf(registry, 'bazaar_recovery_orders_fetched_total', 'Orders fetched from a peer by recovery or gap repair', () => catchUp.totals.fetched);
    counterOf(registry, 'bazaar_recovery_orders_dropped_total', 'Unacknowledged tail entries dropped by recovery', () => catchUp.totals.dropped);
    gaugeOf(registry, 'bazaar_recovery_remaining_orders', 'Orders still to fetch in the catch-up under way (0: none)', () => catchUp.remaining);
  }
}
