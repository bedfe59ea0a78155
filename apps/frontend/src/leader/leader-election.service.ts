import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrontendEnv, LeaderChange, LeaderResponse, ReplicaAddress, ReplicaStatus } from '@app/contracts';
import { monotonicNow } from '@app/common';
import { EpochStore, EpochWriteError } from './epoch.store';
import { ProbedState, ReplicasClient } from './replicas.client';

/**
 * How often the heartbeat also pings the replicas that do not lead, for `GET /leader`'s states:
 * a replica's `/ping` runs a database health check, and doing it every heartbeat (200 ms) took
 * the idle cluster from about 7 to 11 % of a core.
 */
export const STATE_REFRESH_MS = 1000;

export interface Leader extends ReplicaAddress {
  epoch: number;
}

/** How often an election result is announced to a replica that did not accept it (it may be slow, or a partition may heal). */
const ANNOUNCE_ATTEMPTS = 3;
/** How many leader changes {@link LeaderElectionService.history} keeps. */
export const LEADER_HISTORY = 20;

/**
 * Chooses the leader of the order replicas.
 *
 * The leader is the live, *ready* (recovered, and in reach of a majority of the replicas: a
 * replica cut off from one says so on `/ping`) replica with the highest id. Leadership is sticky:
 * a replica that leads the newest epoch any replica reports, and answers, is adopted as it is —
 * whichever front end elected it — and no new epoch is started while one does. Besides that,
 * a new election happens only when the leader stops answering `/ping` (a leader that cannot reach
 * a majority answers 503 `no_quorum`), or a forwarded request fails on it. A candidate that could
 * not gather a majority steps back; the next election proposes it last. When nobody else is
 * ready, a leader that still leads its epoch keeps the job. Each election hands out a new epoch — above every epoch this front end or any
 * replica has seen, persisted first — and announces it to the winner before anyone else, so the
 * winner can catch up before it takes a trade and stale leaders are fenced off.
 *
 * The first election of a front end that finds no sitting leader waits until every configured
 * replica is ready, up to `ELECTION_GRACE_MS` after a majority of them first was, so that a fresh
 * cluster elects the highest id (the lab's leader) and not whichever replica happened to answer
 * first. The grace starts with the majority, not with the front end: before a majority is up no
 * replica can lead anyway, and processes started together on a busy host (`npm start`) may take
 * longer than the grace to boot. Until then each election ends at once with no leader, so a
 * request to a front end started while a majority is down gets its 503 rather than waiting.
 */
@Injectable()
export class LeaderElectionService {
  private readonly logger = new Logger(LeaderElectionService.name);
  private leader: Leader | null = null;
  private electing?: Promise<Leader | null>;
  private readonly states = new Map<number, ProbedState>();
  private statesRefreshedAt = 0;
  private changes = 0;
  private readonly log: LeaderChange[] = [];
  private readonly graceMs: number;
  /** When this front end first saw a majority of the replicas ready (the first election's grace starts there). */
  private majorityReadyAt?: number;
  private readonly retryMs: number;
  private elected = false;
  /** Called on every change of the leader named (see {@link whenReplaced}). */
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly replicas: ReplicasClient,
    private readonly epochs: EpochStore,
    config: ConfigService<FrontendEnv, true>,
  ) {
    this.graceMs = config.get('ELECTION_GRACE_MS', { infer: true });
    this.retryMs = config.get('ELECTION_INTERVAL_MS', { infer: true });
  }

  /** The most recent leader changes, newest first. */
  get history(): readonly LeaderChange[] {
    return this.log;
  }

  get current(): Leader | null {
    return this.leader;
  }

  /** How many times this front end has switched to a new leader or epoch (for metrics). */
  get leaderChanges(): number {
    return this.changes;
  }

  /**
   * Called on the heartbeat interval: pings the leader, and re-elects when there is none or it
   * stopped answering. At most once per {@link STATE_REFRESH_MS} it pings the other replicas too,
   * so that `GET /leader` shows each one as of then (the decision waits only for the leader's answer).
   */
  async check(): Promise<void> {
    if (this.electing) return;
    const leader = this.leader;
    const now = monotonicNow();
    const refresh = now - this.statesRefreshedAt >= STATE_REFRESH_MS;
    if (refresh) this.statesRefreshedAt = now;
    const probes = new Map(
      this.replicas.replicas
        .filter((r) => refresh || r.id === leader?.id)
        .map((r) => [r.id, this.probeAndRecord(r)] as const),
    );
    const leaderProbe = leader && probes.get(leader.id);
    const leaderState = leaderProbe ? await leaderProbe : undefined;
    if (leaderState === 'ready') {
      if (refresh) await this.checkStillLeads(leader!);
      return;
    }
    if (leader !== this.leader) return; // changed while we pinged
    // A leader that answers its ping with 503 (it cannot reach a majority, its disk fails) has not stopped answering.
    await this.elect(!leader ? 'no leader' : leaderState === 'not_ready' ? `leader ${leader.id} answered not ready` : `leader ${leader.id} stopped answering`);
  }

  /**
   * A leader that answers `/ping` may no longer lead: another front end's election deposed it, and
   * it came back as a follower (which answers `/ping` too) or leads a newer epoch. Asked on the
   * refresh rounds only (one status call a second); then the election adopts whoever leads now,
   * instead of naming the old leader until a trade is refused there.
   */
  private async checkStillLeads(leader: Leader): Promise<void> {
    const status = await this.replicas.status(leader);
    if (!status || isLeading(status, leader.epoch) || leader !== this.leader || this.electing) return;
    await this.elect(`leader ${leader.id} no longer leads epoch ${leader.epoch} (${status.role} in epoch ${status.epoch})`);
  }

  private async probeAndRecord(replica: ReplicaAddress): Promise<ProbedState> {
    const state = await this.replicas.probe(replica);
    if (!this.electing) this.states.set(replica.id, state); // an election under way records its own
    return state;
  }

  /**
   * Calls `listener` once a leader other than `seen` is named (another replica, or a newer
   * epoch), at once if one already is; returns the function that stops listening. A forward to
   * `seen` still under way then need not wait for its timeout: the front end has given up on
   * that leader, so the request goes to the new one (with its idempotency key).
   */
  whenReplaced(seen: Leader, listener: () => void): () => void {
    const check = () => {
      const now = this.leader;
      if (!now || (now.id === seen.id && now.epoch === seen.epoch)) return;
      this.changeListeners.delete(check);
      listener();
    };
    this.changeListeners.add(check);
    check();
    return () => this.changeListeners.delete(check);
  }

  /** Names `leader` (null: none) and tells the {@link whenReplaced} listeners. */
  private name(leader: Leader | null): void {
    this.leader = leader;
    if (leader) for (const check of [...this.changeListeners]) check();
  }

  /** The leader to send a request to, electing one first if there is none. */
  async leaderForRequest(): Promise<Leader | null> {
    return this.leader ?? this.elect('a request needs a leader');
  }

  /** A request to `seen` failed: elect again unless that already happened. */
  async reportFailure(seen: Leader, reason: string): Promise<Leader | null> {
    if (this.leader && this.leader.epoch !== seen.epoch) return this.leader;
    return this.elect(`request to leader ${seen.id} failed: ${reason}`);
  }

  /** Runs one election; concurrent callers share it. */
  elect(reason: string): Promise<Leader | null> {
    this.electing ??= this.runElection(reason).finally(() => (this.electing = undefined));
    return this.electing;
  }

  describe(): LeaderResponse['replicas'] {
    return this.replicas.replicas.map((r) => ({
      id: r.id,
      address: r.url,
      state: this.leader?.id === r.id ? 'leader' : (this.states.get(r.id) ?? 'down'),
    }));
  }

  /** Why there is no leader, as of the last pings (a trade's 503 says it). */
  noLeaderReason(): string {
    const states = this.describe();
    const ready = states.filter((r) => r.state === 'ready' || r.state === 'leader').length;
    const majority = Math.floor(states.length / 2) + 1;
    if (ready >= majority) return `no leader yet: ${ready} of ${states.length} order replicas are ready, and none could be elected`;
    return `no leader: ${ready} of ${states.length} order replicas ${ready === 1 ? 'is' : 'are'} ready, and a majority (${majority}) must be`;
  }

  private async probeAll() {
    const probes = await Promise.all(
      this.replicas.replicas.map(async (r) => {
        const [alive, status] = await Promise.all([this.replicas.ping(r), this.replicas.status(r)]);
        return { replica: r, alive, status };
      }),
    );
    for (const p of probes) this.states.set(p.replica.id, p.alive ? 'ready' : p.status ? 'not_ready' : 'down');
    return probes;
  }

  private record(leader: Leader | null, reason: string): void {
    this.log.unshift({ at: new Date().toISOString(), leader: leader?.id ?? null, epoch: leader?.epoch ?? null, reason });
    this.log.length = Math.min(this.log.length, LEADER_HISTORY);
  }

  /**
   * What is left of the first election's grace, in ms: it runs `ELECTION_GRACE_MS` from the first
   * probe that found a majority of the replicas ready, and has not started before that.
   */
  private graceLeft(probes: { alive: boolean }[]): number {
    if (this.majorityReadyAt === undefined && probes.filter((p) => p.alive).length > probes.length / 2) this.majorityReadyAt = monotonicNow();
    return this.majorityReadyAt === undefined ? Infinity : Math.max(0, this.majorityReadyAt + this.graceMs - monotonicNow());
  }

  /** Announces `leader` of `epoch` to `replica`, up to {@link ANNOUNCE_ATTEMPTS} times, while that epoch is still this front end's. */
  private async announceWithRetries(replica: ReplicaAddress, leader: number, epoch: number): Promise<void> {
    for (let attempt = 1; attempt <= ANNOUNCE_ATTEMPTS; attempt++) {
      if (await this.replicas.announce(replica, leader, epoch)) return;
      if (this.leader?.epoch !== epoch) return;
      await sleep(this.retryMs);
    }
  }

  private async runElection(reason: string): Promise<Leader | null> {
    let probes = await this.probeAll();
    // A fresh front end: give every replica the grace period to come up, unless one already leads.
    while (!this.elected && probes.some((p) => !p.alive) && !probes.some((p) => isLeading(p.status, p.status?.epoch ?? 0))) {
      const left = this.graceLeft(probes);
      // No majority ready yet, so nobody could lead: this election ends at once with none (requests
      // get their 503 instead of waiting for replicas that may stay down), and the heartbeat's next
      // one looks again. The grace starts with the majority.
      if (left === Infinity) return null;
      if (left <= 0) break;
      await sleep(Math.min(this.retryMs, left));
      probes = await this.probeAll();
    }
    // The epoch of the leader this front end adopted counts too: it may have adopted it from another front end.
    const highestSeen = Math.max(this.leader?.epoch ?? 0, ...probes.map((p) => p.status?.epoch ?? 0));

    // Sticky: a leader that still answers and still leads this epoch keeps the job.
    const incumbent = this.leader && probes.find((p) => p.replica.id === this.leader!.id);
    if (incumbent && incumbent.alive && isLeading(incumbent.status, this.leader!.epoch)) return this.leader;
    // A live, ready replica already leads the newest epoch (another front end elected it, or this
    // one restarted): adopt it. A new epoch is never started while one leads the newest and answers,
    // so two front ends converge on one leader instead of deposing each other's.
    const sitting = probes.find((p) => p.alive && isLeading(p.status, highestSeen));
    if (sitting) {
      const previous = this.leader;
      this.name({ ...sitting.replica, epoch: highestSeen });
      this.changes++;
      this.elected = true;
      this.record(this.leader, previous ? `already leading (${reason})` : 'already leading');
      this.logger.log(`replica ${sitting.replica.id} already leads epoch ${highestSeen}${previous ? ` (was ${previous.id}; ${reason})` : ''}`);
      return this.leader;
    }

    // The replica that held the job and is still up but no longer leads (a candidate that could not
    // gather a majority and stepped back) is proposed last this round: the next one gets its turn.
    const failed = this.leader?.id;
    const candidates = probes
      .filter((p) => p.alive)
      .sort((a, b) => Number(a.replica.id === failed) - Number(b.replica.id === failed) || b.replica.id - a.replica.id);
    for (const c of candidates) {
      let epoch: number;
      try {
        epoch = this.epochs.next(highestSeen);
      } catch (e) {
        if (!(e instanceof EpochWriteError)) throw e;
        // No epoch that is not on disk is ever handed out: this round elects nobody (requests get
        // 503), and the heartbeat tries again.
        this.logger.error(`cannot elect a leader: ${e.message}`);
        if (this.leader) this.record(null, `election failed: ${e.message} (${reason})`);
        this.name(null);
        return null;
      }
      if (!(await this.replicas.announce(c.replica, c.replica.id, epoch))) continue;
      // The candidate gathers its majority itself; telling the others too makes them stop applying
      // the old leader's syncs sooner. Retried in the background, never waited for.
      for (const r of this.replicas.replicas.filter((r) => r.id !== c.replica.id)) void this.announceWithRetries(r, c.replica.id, epoch);
      const previous = this.leader;
      this.name({ ...c.replica, epoch });
      this.changes++;
      this.elected = true;
      this.record(this.leader, reason);
      this.logger.log(`replica ${c.replica.id} leads epoch ${epoch} (was ${previous ? previous.id : 'none'}; ${reason})`);
      return this.leader;
    }
    // Nobody else can take over: a leader that still leads its epoch (it answers, but says it cannot
    // reach a majority) keeps the job, so that trades are refused fast with its reason and lookups
    // still reach it; its followers coming back restore its majority.
    if (incumbent?.status && isLeading(incumbent.status, this.leader!.epoch)) return this.leader;
    if (this.leader) {
      this.logger.warn(`no order replica is ready (${reason})`);
      this.record(null, `no replica is ready (${reason})`);
    }
    this.name(null);
    return null;
  }
}

function isLeading(status: ReplicaStatus | null, epoch: number): boolean {
  return !!status && status.epoch === epoch && (status.role === 'leader' || status.role === 'promoting');
}
