import { chance, mulberry32, pick, randomIntBetween, streamSeed, weighted, type Random } from '@app/loadgen';
import { Cluster, http, NetLab, sleep } from '@app/testkit';
import type { FaultEvent, NemesisMode } from '@app/verify';
import { DEFAULT_FAULT_KINDS, electionStorm, FaultKind } from './faults';
import type { HistoryWriter } from './history';
import { frontendFromCatalog, frontendsFromDifferentReplicas, isolateReplica, leaderFromFrontends, leaderFromOneFrontend, type PartitionShape } from './partition-shapes';
import type { PushLoss, PushRelays } from './push-relays';

export { DEFAULT_FAULT_KINDS, FAULT_KINDS } from './faults';
export type { FaultKind } from './faults';

export const FAULT_POINTS = ['after-catalog-trade', 'after-local-commit', 'after-replicate-one'] as const;

const WEIGHTS: Record<FaultKind, number> = {
  'kill-leader': 3,
  'kill-follower': 2,
  'pause-leader': 2,
  'pause-follower': 2,
  'crash-point': 2,
  'kill-catalog': 1,
  'pause-catalog': 1,
  'pause-frontend': 2,
  'kill-frontend': 2,
  'lose-pushes': 3,
  partition: 4,
};

type ReplicaState = 'up' | 'killed' | 'paused' | 'recovering' | 'partitioned';
/** A front end's state, and the catalog's. */
type FrontendState = 'up' | 'killed' | 'paused' | 'recovering';
const CATALOG = 'catalog';
/** How the catalog's faults are counted in {@link Nemesis.injected}. */
const CATALOG_FAULT_COUNTS = ['kill catalog', 'pause catalog'];
type CutMode = 'blackhole' | 'drop';

const REPLICAS = [1, 2, 3];
const name = (id: number) => `order-${id}`;

/** Bounds of the schedule, in ms. */
const QUIET = [500, 2500] as const; // between two faults
const KILL_DOWN = [300, 2500] as const; // a killed replica stays down this long before its restart
const PAUSE = [1000, 3000] as const; // SIGSTOP → SIGCONT (past PING_TIMEOUT_MS = 400)
const READY_TIMEOUT = 60_000;
const HANDOVER_TIMEOUT = 10_000;
const CRASH_WAIT = 15_000;
const PARTITION_HOLD = [2000, 6000] as const; // a partition lasts this long before it is healed
const SETTLE_WHILE_CUT = 30_000; // front ends cut from different replicas must agree on the one both reach within this
const AGREE_TIMEOUT = 30_000; // after the heal, every front end names one leader within this …
const AGREE_HOLD = 1_000; // … and goes on naming it, at the same epoch, for this long
const PUSH_LOSS = [1000, 4000] as const; // the catalog's pushes to a front end are lost this long (leases are 1 s)

/**
 * Thrown once the event that fails the run for it is recorded (an `error`, or a `not-settled`):
 * {@link Nemesis.run} heals and goes on without recording the same failure again as an `error`.
 */
export class RecordedFailure extends Error {}

/** The cluster did not settle (a `not-settled` event is recorded): not an `error` too. */
export class NotSettled extends RecordedFailure {}

export interface NemesisOptions {
  mode: NemesisMode;
  seed: number;
  history: HistoryWriter;
  /** Wall-clock ms: no fault starts after this. */
  deadline: number;
  signal: AbortSignal;
  log: (line: string) => void;
  /** The kinds of fault to pick from (default: {@link DEFAULT_FAULT_KINDS}). */
  kinds?: readonly FaultKind[];
  /** The namespaces the cluster runs in; required for the `partition` kind. */
  net?: NetLab;
  /** The relays the catalog pushes to the front ends through; required for the `lose-pushes` kind. */
  relays?: PushRelays;
}

/**
 * Faults on a seeded random schedule: SIGKILL of the leader or a follower (restarted after a
 * while), SIGSTOP/SIGCONT past the ping timeout, the crash fault points (a replica restarted
 * with `FAULT_POINT`, made leader, crashing itself on its Nth trade), and — with the cluster on
 * namespace hosts — network partitions: one replica cut off from the other two, or the leader cut
 * off from the front end(s); with two or more front ends also the leader cut off from one front
 * end only, or two front ends each cut off from a different replica; and, with any number of
 * front ends, one front end cut off from the catalog, the catalog's pushes to it lost too (see
 * `partition-shapes.ts`); by blackhole routes or nftables drop rules, held a while, then healed.
 *
 * The catalog, a single process, is SIGKILLed (restarted after a while: a new process, which waits
 * out its predecessor's leases before it answers) or paused: no client sees it (SPEC §6.8),
 * lookups and trades wait for it.
 *
 * With two or more front ends, also SIGKILL of a front end (restarted after a while: a new process,
 * which waits out its predecessor's cache lease before it caches) and SIGSTOP/SIGCONT of one (its
 * lease runs out while it is stopped); with the front ends behind push relays, the catalog's
 * invalidation pushes to one lost for a while (swallowed or refused) while it keeps its lease. One
 * front end is faulted at a time, and never while a replica is: the others keep serving the
 * clients.
 *
 * Default mode keeps at most one replica down at any moment — killed, paused, partitioned, or
 * restarted but not yet ready — so the next fault only starts once every replica answers `/ping`
 * again. Aggressive mode also takes two down at once (with partitions: a follower isolated while
 * the leader is killed).
 */
export class Nemesis {
  readonly state = new Map<number, ReplicaState>(REPLICAS.map((id) => [id, 'up']));
  /** Each front end's state, by process name (`frontend`, `frontend-2` …). */
  readonly frontends: Map<string, FrontendState>;
  /** The catalog's. */
  private catalog: FrontendState = 'up';
  /** Faults injected, by kind. */
  readonly injected: Record<string, number> = {};
  private readonly random: Random;
  /**
   * Whether a partition cuts a front end off from the catalog, and which: a stream of its own, so
   * that the other shapes are drawn from {@link random} as they were before that shape existed.
   */
  private readonly fromCatalogRandom: Random;
  /** Front ends a partition cuts off from the catalog now (see {@link losingPushes}). */
  private readonly pushesLost = new Set<string>();

  constructor(
    private readonly c: Cluster,
    private readonly o: NemesisOptions,
  ) {
    this.random = mulberry32(streamSeed(o.seed, 'nemesis'));
    this.fromCatalogRandom = mulberry32(streamSeed(o.seed, 'nemesis-frontend-from-catalog'));
    this.frontends = new Map(c.frontendNames.map((n) => [n, 'up']));
  }

  private get stopping(): boolean {
    return Date.now() >= this.o.deadline || this.o.signal.aborted;
  }

  private count(kind: string): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
  }

  private event(kind: string, id: number | string, detail?: string, extra?: Pick<FaultEvent, 'shape' | 'scope'>): void {
    const target = typeof id === 'number' ? name(id) : id;
    const e = this.o.history.fault(kind, target, detail, extra);
    this.o.log(`  [${(e.t / 1000).toFixed(1).padStart(6)} s] ${kind.padEnd(17)} ${target}${detail ? `  ${detail}` : ''}`);
  }

  /** Sleeps `ms`, cut short when the run is over. */
  private async nap(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.stopping) await sleep(Math.min(50, until - Date.now()));
  }

  private between([lo, hi]: readonly [number, number]): number {
    return randomIntBetween(this.random, lo, hi);
  }

  /**
   * The front ends a partition loses the catalog's pushes to now (cut off from the catalog, see
   * `frontendFromCatalog`): with the relays' losses, what the crossing reader aims at.
   */
  losingPushes(): string[] {
    return [...this.pushesLost];
  }

  /** Whether the catalog is out now: killed, paused, or not yet healthy again. */
  catalogOut(): boolean {
    return this.catalog !== 'up';
  }

  /** Replicas not ready now (killed, paused or recovering), then the catalog and front ends not serving. */
  down(): (number | string)[] {
    return [
      ...REPLICAS.filter((id) => this.state.get(id) !== 'up'),
      ...(this.catalog === 'up' ? [] : [CATALOG]),
      ...[...this.frontends].filter(([, s]) => s !== 'up').map(([n]) => n),
    ];
  }

  /** The URL of a front end that is up now (the first such), for the nemesis's questions (the leader watcher polls every front end). */
  liveFrontend(): string {
    const up = this.c.frontendNames.find((n) => this.frontends.get(n) === 'up') ?? 'frontend';
    return this.c.url(up);
  }

  /** The leader a front end that is up names now, or null. */
  async leader(): Promise<number | null> {
    try {
      const res = await http<{ leader: number }>(`${this.liveFrontend()}/leader`, { timeoutMs: 2000 });
      return res.status === 200 && typeof res.body?.leader === 'number' ? res.body.leader : null;
    } catch {
      return null;
    }
  }

  /** Runs faults until the deadline; every fault it starts it also heals before the next. */
  async run(): Promise<void> {
    while (!this.stopping) {
      await this.nap(this.between(QUIET));
      if (this.stopping) break;
      if (this.down().length > 0) {
        // Something failed to come back last time: bring it back before anything else.
        await this.heal();
        continue;
      }
      try {
        if (this.o.mode === 'aggressive' && chance(this.random, 0.4)) await this.twoDown();
        else await this.oneFault();
      } catch (e) {
        // A failure recorded already (an error, a cluster that did not settle) is not recorded twice.
        if (!(e instanceof RecordedFailure)) this.event('error', 'nemesis', (e as Error).message);
        await this.heal();
      }
    }
  }

  private async oneFault(): Promise<void> {
    const leader = await this.leader();
    if (leader === null) return;
    const followers = REPLICAS.filter((id) => id !== leader);
    const kinds = this.o.kinds?.length ? this.o.kinds : DEFAULT_FAULT_KINDS;
    switch (weighted(this.random, Object.fromEntries(kinds.map((k) => [k, WEIGHTS[k]])) as Record<FaultKind, number>)) {
      case 'kill-leader':
        return this.killAndRestart(leader, 'leader');
      case 'kill-follower':
        return this.killAndRestart(pick(this.random, followers), 'follower');
      case 'pause-leader':
        return this.pauseAndResume(leader, 'leader');
      case 'pause-follower':
        return this.pauseAndResume(pick(this.random, followers), 'follower');
      case 'crash-point':
        return this.crashPoint(leader);
      case 'partition':
        return this.partition(leader);
      case 'kill-catalog':
        return this.killCatalog();
      case 'pause-catalog':
        return this.pauseCatalog();
      case 'pause-frontend':
        return this.pauseFrontend(pick(this.random, this.c.frontendNames));
      case 'kill-frontend':
        return this.killFrontend(pick(this.random, this.c.frontendNames));
      case 'lose-pushes':
        return this.losePushes(pick(this.random, this.c.frontendNames));
    }
  }

  /**
   * Loses the catalog's invalidation pushes to front end `fe` for a while (past its 1 s lease):
   * swallowed, so that each times out, or refused at once, at random. The front end keeps renewing
   * its lease straight at the catalog: trades of the stocks it caches then wait until a grant
   * carries the invalidation or the lease runs out.
   */
  private async losePushes(fe: string): Promise<void> {
    if (!this.o.relays) throw new Error('the lose-pushes fault needs the front ends behind push relays');
    const how: PushLoss = chance(this.random, 0.5) ? 'swallow' : 'refuse';
    const t0 = Date.now();
    this.count(`lose pushes to a front end (${how})`);
    this.event('lose-pushes', fe, `catalog → front end ${how === 'swallow' ? 'swallowed' : 'refused'}`);
    this.o.relays.lose(fe, how);
    try {
      await this.nap(this.between(PUSH_LOSS));
    } finally {
      this.o.relays.restore(fe);
    }
    this.event('pushes-restored', fe, `after ${Date.now() - t0} ms`);
  }

  /** SIGKILL the catalog, restart it a while later (a new process: it waits out its predecessor's leases). */
  private async killCatalog(): Promise<void> {
    this.count('kill catalog');
    this.event('kill', CATALOG);
    this.catalog = 'killed';
    await this.c.kill(CATALOG);
    await this.nap(this.between(KILL_DOWN));
    await this.restartCatalog();
  }

  private async restartCatalog(): Promise<void> {
    const t0 = Date.now();
    this.catalog = 'recovering';
    this.event('restart', CATALOG);
    try {
      if (!this.c.isRunning(CATALOG)) await this.c.startCatalog();
    } catch (e) {
      const what = `restart failed: ${(e as Error).message.split('\n')[0]}`;
      this.event('error', CATALOG, what);
      throw new RecordedFailure(`${CATALOG}: ${what}`);
    }
    await this.catalogReady(t0, 'restarted');
  }

  /** SIGSTOP the catalog for 1–3 s (past the cache lease, and at times the leader's timeout for it), then SIGCONT. */
  private async pauseCatalog(): Promise<void> {
    this.count('pause catalog');
    this.event('pause', CATALOG);
    this.catalog = 'paused';
    await this.c.signal(CATALOG, 'SIGSTOP');
    await this.nap(this.between(PAUSE));
    await this.resumeCatalog();
  }

  private async resumeCatalog(): Promise<void> {
    const t0 = Date.now();
    await this.c.signal(CATALOG, 'SIGCONT');
    this.catalog = 'recovering';
    this.event('resume', CATALOG);
    await this.catalogReady(t0, 'resumed');
  }

  /** Waits until the catalog answers its health check (lookups it holds until its start-up fence is over). */
  private async catalogReady(t0: number, what: string): Promise<void> {
    const until = Date.now() + READY_TIMEOUT;
    for (;;) {
      const res = await http(`${this.c.catalog}/health`, { timeoutMs: 1000 }).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() >= until || this.o.signal.aborted) {
        this.event('error', CATALOG, `not healthy ${READY_TIMEOUT} ms after it was ${what}`);
        throw new RecordedFailure(`the catalog was not healthy within ${READY_TIMEOUT} ms after it was ${what}`);
      }
      await sleep(50);
    }
    this.catalog = 'up';
    this.event('ready', CATALOG, `${Date.now() - t0} ms after it was ${what}`);
  }

  /** SIGSTOP a front end, past its cache lease, then SIGCONT; over once it names a leader again. */
  private async pauseFrontend(fe: string): Promise<void> {
    this.count('pause front end');
    this.event('pause', fe, 'front end');
    this.frontends.set(fe, 'paused');
    await this.c.signal(fe, 'SIGSTOP');
    await this.nap(this.between(PAUSE));
    await this.resumeFrontend(fe);
  }

  private async resumeFrontend(fe: string): Promise<void> {
    const t0 = Date.now();
    await this.c.signal(fe, 'SIGCONT');
    this.frontends.set(fe, 'recovering');
    this.event('resume', fe, 'front end');
    await this.frontendReady(fe, t0, 'resumed');
  }

  /** SIGKILL a front end, restart it a while later (a new process with a new lease instance). */
  private async killFrontend(fe: string): Promise<void> {
    this.count('kill front end');
    this.event('kill', fe, 'front end');
    this.frontends.set(fe, 'killed');
    await this.c.kill(fe);
    await this.nap(this.between(KILL_DOWN));
    await this.restartFrontend(fe);
  }

  private async restartFrontend(fe: string): Promise<void> {
    const t0 = Date.now();
    this.frontends.set(fe, 'recovering');
    this.event('restart', fe, 'front end');
    try {
      if (!this.c.isRunning(fe)) await this.c.startFrontend({}, fe);
    } catch (e) {
      const what = `restart failed: ${(e as Error).message.split('\n')[0]}`;
      this.event('error', fe, what);
      throw new RecordedFailure(`${fe}: ${what}`);
    }
    await this.frontendReady(fe, t0, 'restarted');
  }

  /** Waits until front end `fe` names a leader (it serves again). */
  private async frontendReady(fe: string, t0: number, what: string): Promise<void> {
    const until = Date.now() + READY_TIMEOUT;
    for (;;) {
      const res = await http<{ leader?: number }>(`${this.c.url(fe)}/leader`, { timeoutMs: 1000 }).catch(() => null);
      if (res?.status === 200 && typeof res.body?.leader === 'number') break;
      if (Date.now() >= until || this.o.signal.aborted) {
        this.event('error', fe, `not serving ${READY_TIMEOUT} ms after it was ${what}`);
        throw new RecordedFailure(`${fe} did not name a leader within ${READY_TIMEOUT} ms after it was ${what}`);
      }
      await sleep(50);
    }
    this.frontends.set(fe, 'up');
    this.event('ready', fe, `${Date.now() - t0} ms after it was ${what}`);
  }

  private async killAndRestart(id: number, role: string): Promise<void> {
    await this.kill(id, role);
    await this.nap(this.between(KILL_DOWN));
    await this.restart(id);
  }

  private async pauseAndResume(id: number, role: string): Promise<void> {
    await this.pause(id, role);
    await this.nap(this.between(PAUSE));
    await this.resume(id);
  }

  private async kill(id: number, role: string, why?: string): Promise<void> {
    this.count(`kill ${role}`);
    this.event('kill', id, why ? `${role}, ${why}` : role);
    this.state.set(id, 'killed');
    await this.c.kill(name(id));
  }

  private async pause(id: number, role: string, why?: string): Promise<void> {
    this.count(`pause ${role}`);
    this.event('pause', id, why ? `${role}, ${why}` : role);
    this.state.set(id, 'paused');
    await this.c.signal(name(id), 'SIGSTOP');
  }

  private async resume(id: number): Promise<void> {
    const t0 = Date.now();
    await this.c.signal(name(id), 'SIGCONT');
    this.state.set(id, 'recovering');
    this.event('resume', id);
    await this.waitReady(id, t0, 'resumed');
  }

  /** Restarts a stopped replica (clean, or with a fault point) and waits until it is ready. */
  private async restart(id: number, faultPoint?: { point: string; hit: number }): Promise<void> {
    const t0 = Date.now();
    this.state.set(id, 'recovering');
    const extra: Record<string, string> = faultPoint ? { FAULT_POINT: faultPoint.point, FAULT_POINT_HIT: String(faultPoint.hit) } : { FAULT_POINT: 'none' };
    this.event('restart', id, faultPoint ? `armed: ${faultPoint.point}, crashes on its trade #${faultPoint.hit} as leader` : undefined);
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.c.isRunning(name(id))) await this.c.startReplica(id, extra);
        break;
      } catch (e) {
        // An attempt that is retried is expected now and then (not an error); the last one failing is one.
        const last = attempt >= 3;
        this.event(last ? 'error' : 'restart-retry', id, `restart attempt ${attempt} failed${last ? '' : ', retrying'}: ${(e as Error).message.split('\n')[0]}`);
        if (last) throw new RecordedFailure(`${name(id)}: restart failed: ${(e as Error).message.split('\n')[0]}`);
        await sleep(500);
      }
    }
    await this.waitReady(id, t0, 'restarted');
  }

  private async waitReady(id: number, t0: number, what: string): Promise<void> {
    try {
      await this.c.waitReady(id, READY_TIMEOUT);
      this.state.set(id, 'up');
      this.event('ready', id, `${Date.now() - t0} ms after it was ${what}`);
    } catch (e) {
      this.event('error', id, `not ready ${READY_TIMEOUT} ms after it was ${what}: ${(e as Error).message}`);
      throw new RecordedFailure(`${name(id)} not ready ${READY_TIMEOUT} ms after it was ${what}`);
    }
  }

  /**
   * A crash fault point: restart the replica that would lead next with `FAULT_POINT`, hand it the
   * leadership (pause the leader just until the front end elects another, then resume it), and let
   * it crash itself on its Nth trade; then restart it clean. One replica is down at a time: the
   * armed one is restarted while the others are up, the leader is resumed before the armed one has
   * taken N trades, and the armed one is down only once it has crashed.
   */
  private async crashPoint(leader: number): Promise<void> {
    const target = Math.max(...REPLICAS.filter((id) => id !== leader));
    const point = pick(this.random, FAULT_POINTS);
    const hit = randomIntBetween(this.random, 2, 4);
    await this.kill(target, 'follower', `to arm ${point}`);
    await this.restart(target, { point, hit });
    await this.nap(this.between([300, 1000]));
    if (this.stopping) return this.disarm(target, 'the run ended before it led');

    await this.pause(leader, 'leader', `to hand leadership to ${name(target)}`);
    let next: number | null = null;
    const until = Date.now() + HANDOVER_TIMEOUT;
    while (Date.now() < until && !this.o.signal.aborted) {
      next = await this.leader();
      if (next !== null && next !== leader) break;
      await sleep(25);
    }
    await this.resume(leader);
    if (next !== target) return this.disarm(target, `the front end elected ${next === null ? 'nobody' : name(next)} instead`);

    const crashUntil = Date.now() + CRASH_WAIT;
    while (this.c.isRunning(name(target)) && Date.now() < crashUntil && !this.stopping) await sleep(25);
    if (this.c.isRunning(name(target))) return this.disarm(target, 'it did not reach the fault point in time');
    this.state.set(target, 'killed');
    this.count(`crash point ${point}`);
    this.event('crash-point-fired', target, `${point}, on its trade #${hit} as leader`);
    await this.nap(this.between(KILL_DOWN));
    await this.restart(target);
  }

  /** An armed replica that did not crash: kill it and restart it clean (nothing else is down). */
  private async disarm(id: number, why: string): Promise<void> {
    this.event('disarm', id, why);
    this.state.set(id, 'killed');
    await this.c.kill(name(id));
    await this.restart(id);
  }

  /** The namespaces to cut links in; the partition kind is only picked with them. */
  private net(): NetLab {
    if (!this.o.net) throw new Error('the partition nemesis needs the cluster on namespace hosts (NetLab)');
    return this.o.net;
  }

  private cut(how: CutMode, pairs: [string, string][]): void {
    const net = this.net();
    for (const [a, b] of pairs) {
      if (how === 'blackhole') net.blackhole(a, b);
      else net.drop(a, b);
    }
  }

  private mend(pairs: [string, string][]): void {
    for (const [a, b] of pairs) this.o.net?.heal(a, b);
  }

  /**
   * A partition's shape, at random. With one front end: one replica (leader or follower) cut off
   * from the other two, or the leader cut off from the front end — drawn as they always were, so
   * that a seed makes the same schedule. With several: also the leader cut off from one front end
   * only, and two front ends each cut off from a different replica (the leader and a follower).
   *
   * Either way, a front end cut off from the catalog instead (one in five partitions with one front
   * end, one in six with several: as often as each shape but isolation), decided and drawn on a
   * stream of its own ({@link fromCatalogRandom}), the other shape being drawn all the same and
   * left unused: a seed's schedule keeps every other partition it had before this shape existed
   * (same draws; what the cluster does in between may still differ).
   */
  private partitionShape(leader: number): PartitionShape {
    const frontends = this.c.frontendNames;
    const fromCatalog = chance(this.fromCatalogRandom, frontends.length === 1 ? 1 / 5 : 1 / 6);
    const drawn = this.drawnShape(leader, frontends);
    return fromCatalog ? frontendFromCatalog(pick(this.fromCatalogRandom, frontends), frontends) : drawn;
  }

  /** The shapes drawn from {@link random}, as they always were. */
  private drawnShape(leader: number, frontends: readonly string[]): PartitionShape {
    if (frontends.length === 1) {
      return chance(this.random, 0.5) ? isolateReplica(pick(this.random, REPLICAS), leader, REPLICAS) : leaderFromFrontends(leader, frontends);
    }
    switch (weighted(this.random, { isolate: 2, all: 1, one: 1, crossed: 1 })) {
      case 'isolate':
        return isolateReplica(pick(this.random, REPLICAS), leader, REPLICAS);
      case 'all':
        return leaderFromFrontends(leader, frontends);
      case 'one':
        return leaderFromOneFrontend(leader, pick(this.random, frontends), frontends);
      case 'crossed': {
        const a = pick(this.random, frontends);
        const b = pick(this.random, frontends.filter((f) => f !== a));
        return frontendsFromDifferentReplicas(leader, [a, b], pick(this.random, REPLICAS.filter((id) => id !== leader)), REPLICAS);
      }
    }
  }

  /**
   * A partition (a shape of {@link partitionShape}), by blackhole routes or drop rules, at random;
   * a front end cut off from the catalog loses the pushes through its relay too, refused with
   * blackhole routes, swallowed with drop rules (the relays are out of the cut's reach). Held for
   * a while — when two front ends are cut from different replicas, also until every front end
   * names the one replica both reach (bounded) — healed, and over once every replica is ready
   * and every front end names the same leader. Front ends that never got to the replica they all
   * reach are a `not-settled` event, recorded once the partition is over (so that its span ends
   * where it should).
   */
  private async partition(leader: number): Promise<void> {
    const how: CutMode = chance(this.random, 0.5) ? 'blackhole' : 'drop';
    const t0 = Date.now();
    const shape = this.partitionShape(leader);
    const relays = this.o.relays ? (shape.relays ?? []) : [];
    const relayed = relays.length > 0 ? `; its push relay ${how === 'blackhole' ? 'refuses' : 'swallows'} them` : '';
    this.count(`partition: ${shape.short} (${how})`);
    this.event('partition', shape.target, `${shape.what}, ${how}${relayed}`, { shape: shape.kind, ...(shape.scope ? { scope: shape.scope } : {}) });
    for (const id of shape.replicas) this.state.set(id, 'partitioned');
    let onCommon: { ok: boolean; what: string } | undefined;
    try {
      for (const fe of relays) this.o.relays!.lose(fe, how === 'blackhole' ? 'refuse' : 'swallow');
      this.cut(how, shape.pairs);
      for (const fe of shape.relays ?? []) this.pushesLost.add(fe);
      await this.nap(this.between(PARTITION_HOLD));
      if (shape.mustSettleOn !== undefined) onCommon = await this.frontendsOn(shape.mustSettleOn, t0);
    } finally {
      this.mend(shape.pairs);
      for (const fe of relays) this.o.relays!.restore(fe);
      this.pushesLost.clear();
    }
    for (const id of shape.replicas) this.state.set(id, 'recovering');
    this.event('heal-partition', shape.target, `after ${Date.now() - t0} ms${onCommon ? `; ${onCommon.what}` : ''}`);
    await this.settle(shape.target, t0);
    if (onCommon && !onCommon.ok) {
      this.event('not-settled', shape.target, onCommon.what);
      throw new NotSettled(`the front ends did not settle on ${name(shape.mustSettleOn!)} while cut from different replicas`);
    }
  }

  /**
   * While the cut holds: waits (at most {@link SETTLE_WHILE_CUT}) until every front end names
   * replica `id`, the one they all reach, at one epoch. Says whether they got there (not: front ends deposing each
   * other's leaders in turn), and when, or what they named instead.
   */
  private async frontendsOn(id: number, t0: number): Promise<{ ok: boolean; what: string }> {
    const until = Date.now() + SETTLE_WHILE_CUT;
    for (;;) {
      const named = await this.frontendLeaders();
      if (named.every((l) => l?.leader === id && l.epoch === named[0]!.epoch)) return { ok: true, what: `every front end named ${name(id)} by ${Date.now() - t0} ms after the cut` };
      if (Date.now() >= until || this.stopping) {
        const seen = named.map((l, i) => `${this.c.frontendNames[i]}: ${l ? `${name(l.leader)}@${l.epoch}` : 'none'}`).join(', ');
        // The run ending first cuts the wait short: not a failure of the front ends.
        const ok = Date.now() < until;
        return { ok, what: `front ends NOT on ${name(id)}, the one replica they all reach, ${Date.now() - t0} ms after the cut${ok ? ' (the run ended)' : ''} (${seen})` };
      }
      await sleep(100);
    }
  }

  /** The leader and epoch each front end names now (null: no answer, or none named), in {@link Cluster.frontendNames} order. */
  private frontendLeaders(): Promise<({ leader: number; epoch: number } | null)[]> {
    return Promise.all(
      this.c.frontendNames.map(async (fe) => {
        const res = await http<{ leader?: number; epoch?: number }>(`${this.c.url(fe)}/leader`, { timeoutMs: 1000 }).catch(() => null);
        return res?.status === 200 && typeof res.body?.leader === 'number' ? { leader: res.body.leader, epoch: res.body.epoch ?? -1 } : null;
      }),
    );
  }

  /** Whether every front end that runs (and is not paused) names one leader, at one epoch. */
  private async frontendsAgree(): Promise<boolean> {
    const named = await this.frontendLeaders();
    const running = named.filter((_, i) => {
      const fe = this.c.frontendNames[i];
      return this.c.isRunning(fe) && this.frontends.get(fe) !== 'paused';
    });
    return running.length > 0 && running.every((l) => l !== null && l.leader === running[0]!.leader && l.epoch === running[0]!.epoch);
  }

  /**
   * Aggressive, with partitions: a follower cut off from the other replicas, then the leader
   * killed — the one replica left has no majority until the partition heals — then the partition
   * healed and the leader restarted.
   */
  private async isolateAndKillLeader(leader: number): Promise<void> {
    const follower = pick(this.random, REPLICAS.filter((id) => id !== leader));
    const how: CutMode = chance(this.random, 0.5) ? 'blackhole' : 'drop';
    const { pairs } = isolateReplica(follower, leader, REPLICAS);
    const t0 = Date.now();
    this.count(`partition: isolate follower, kill leader (${how})`);
    this.event('partition', follower, `isolate follower from the other replicas, ${how}; then kill leader ${name(leader)}`);
    this.state.set(follower, 'partitioned');
    try {
      this.cut(how, pairs);
      await this.nap(this.between([300, 1000]));
      await this.kill(leader, 'leader', `while ${name(follower)} is isolated`);
      await this.nap(this.between(PAUSE));
    } finally {
      this.mend(pairs);
    }
    this.state.set(follower, 'recovering');
    this.event('heal-partition', follower, `after ${Date.now() - t0} ms`);
    await this.nap(this.between([200, 1000]));
    await this.restart(leader);
    await this.settle(follower, t0);
  }

  /**
   * Waits (bounded) until every replica answers `/ping` and every front end that runs names the same
   * leader at the same epoch, then marks the partition over: the checker reads the span from
   * `partition` to `partition-over`. Not getting there is a `not-settled` event, which fails the run.
   */
  private async settle(id: number | string, t0: number): Promise<void> {
    const until = Date.now() + READY_TIMEOUT;
    let settled = false;
    while (Date.now() < until && !this.o.signal.aborted) {
      const ready = await Promise.all(REPLICAS.map((r) => http(`${this.c.replica(r)}/ping`, { timeoutMs: 1000 }).then((res) => res.status === 200, () => false)));
      if (ready.every(Boolean) && (await this.frontendsAgree())) {
        settled = true;
        break;
      }
      await sleep(100);
    }
    if (settled) for (const r of REPLICAS) if (this.c.isRunning(name(r))) this.state.set(r, 'up');
    const why = this.o.signal.aborted ? 'the run was interrupted before the cluster settled' : `NOT settled ${READY_TIMEOUT} ms after the heal`;
    this.event('partition-over', id, settled ? `every replica ready, one leader named by every front end, ${Date.now() - t0} ms after the partition began` : why);
    if (!settled && !this.o.signal.aborted) {
      this.event('not-settled', id, why);
      throw new NotSettled(`the cluster did not settle within ${READY_TIMEOUT} ms of healing a partition`);
    }
  }

  /** Aggressive only: two replicas down at once (killed or paused), then both back. */
  private async twoDown(): Promise<void> {
    const leader = await this.leader();
    if (leader !== null && this.o.kinds?.includes('partition') && chance(this.random, 0.5)) return this.isolateAndKillLeader(leader);
    const [a, b] = chance(this.random, 0.5) ? [1, 2] : chance(this.random, 0.5) ? [1, 3] : [2, 3];
    this.count('two down');
    const actions = [a, b].map((id) => ({ id, kill: chance(this.random, 0.5), role: id === leader ? 'leader' : 'follower' }));
    await Promise.all(actions.map((x) => (x.kill ? this.kill(x.id, x.role, 'two down') : this.pause(x.id, x.role, 'two down'))));
    await this.nap(this.between(PAUSE));
    await Promise.all(actions.map((x) => (x.kill ? this.restart(x.id) : this.resume(x.id))));
  }

  /**
   * Heals everything: ends every partition, resumes paused replicas, restarts killed ones (clean), waits until every
   * replica is ready. Bounded: each replica gets {@link READY_TIMEOUT}.
   */
  async heal(): Promise<void> {
    this.o.net?.healAll();
    this.o.relays?.releaseAll();
    this.pushesLost.clear();
    for (const id of REPLICAS) if (this.state.get(id) === 'partitioned') this.state.set(id, 'recovering');
    const catalog = (async () => {
      try {
        if (this.catalog === 'paused') await this.resumeCatalog();
        else if (!this.c.isRunning(CATALOG)) await this.restartCatalog();
        else if (this.catalog !== 'up') await this.catalogReady(Date.now(), 'left recovering');
      } catch {
        /* recorded as an error event */
      }
    })();
    const frontends = [...this.frontends].map(async ([fe, state]) => {
      try {
        if (state === 'paused') await this.resumeFrontend(fe);
        else if (!this.c.isRunning(fe)) await this.restartFrontend(fe);
        else if (state !== 'up') await this.frontendReady(fe, Date.now(), 'left recovering');
      } catch {
        /* recorded as an error event */
      }
    });
    await Promise.all([
      catalog,
      ...frontends,
      ...REPLICAS.map(async (id) => {
        try {
          if (this.state.get(id) === 'paused') await this.resume(id);
          else if (!this.c.isRunning(name(id))) await this.restart(id);
          else if (this.state.get(id) !== 'up') await this.waitReady(id, Date.now(), 'left recovering');
        } catch {
          /* recorded as an error event; the checks will show what it means */
        }
      }),
    ]);
  }

  /**
   * After the run's last heal, loopback included (the runner calls it): waits (at most {@link AGREE_TIMEOUT}) until every
   * front end that runs names the same leader at the same epoch and still does {@link AGREE_HOLD}
   * later, unchanged. Not getting there is a `not-settled` event, which fails the run: front ends
   * that depose each other's leaders without end can leave every client request answered and
   * every check passing (the leader-adoption mutation did, on loopback, where no partition waits
   * for the front ends to agree).
   */
  async frontendsSettle(): Promise<void> {
    const t0 = Date.now();
    const until = t0 + AGREE_TIMEOUT;
    let since: { key: string; at: number } | undefined;
    let seen = '';
    while (Date.now() < until && !this.o.signal.aborted) {
      const named = await this.frontendLeaders();
      const running = this.c.frontendNames.map((fe, i) => ({ fe, l: named[i] })).filter(({ fe }) => this.c.isRunning(fe) && this.frontends.get(fe) !== 'paused');
      seen = running.map(({ fe, l }) => `${fe}: ${l ? `${name(l.leader)}@${l.epoch}` : 'none'}`).join(', ');
      const first = running[0]?.l;
      const agree = first != null && running.every(({ l }) => l !== null && l.leader === first.leader && l.epoch === first.epoch);
      const key = agree ? `${first.leader}@${first.epoch}` : '';
      if (!agree || since?.key !== key) since = agree ? { key, at: Date.now() } : undefined;
      else if (Date.now() - since.at >= AGREE_HOLD) {
        this.event('frontends-agree', 'cluster', `every front end names ${name(first.leader)} at epoch ${first.epoch}, ${Date.now() - t0} ms after the heal`);
        this.epochsWithinBudget(first.epoch);
        return;
      }
      await sleep(200);
    }
    if (this.o.signal.aborted) return;
    this.event('not-settled', 'cluster', `the front ends did not name one leader at one epoch for ${AGREE_HOLD} ms within ${AGREE_TIMEOUT} ms of the heal (last seen: ${seen})`);
  }

  /** A run whose epochs went far beyond its faults: a `not-settled` event (see {@link electionStorm}). */
  private epochsWithinBudget(epoch: number): void {
    // The catalog's faults elect no one: they widen no budget.
    const faults = Object.entries(this.injected).reduce((n, [kind, count]) => n + (CATALOG_FAULT_COUNTS.includes(kind) ? 0 : count), 0);
    const storm = electionStorm(epoch, faults, this.c.frontendNames.length);
    if (storm) this.event('not-settled', 'cluster', storm);
  }
}
