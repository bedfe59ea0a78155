import { Cluster, http, NetLab, sleep, waitFor } from './support/cluster';
import { tradeLoad } from './support/load';
import {
  cut,
  epochRegressions,
  epochRuns,
  expectAllKept,
  expectOneLeaderPerEpoch,
  leaderChanges,
  LeaderChangeEntry,
  leaderOf,
  PARTITION_HOSTS,
  ReplicaMonitor,
  secondFrontendUrl,
  startPartitionCluster,
} from './support/partitions';
import { describeAcrossHosts, netLabHooks } from './support/multihost';

/**
 * Partition scenarios for leader changes decided by a majority, on the multi-host network of namespaces (each process on its
 * own host; partitions between two hosts are blackhole routes or nftables drop rules):
 * - the double fault: a follower isolated from the other replicas, the leader SIGKILLed meanwhile,
 *   heal, restart;
 * - two front ends electing under a load through both, with partitions between each front end
 *   and the leader, between the leader and a follower, and finally between the leader and both
 *   front ends at once (both elect at the same time, possibly naming different candidates);
 * - two front ends each cut from a different replica for as long as it takes them to settle on
 *   the one leader both reach (instead of deposing each other's in turn).
 * Each runs under a trading load with idempotency keys, with blackhole and with drop, and ends with
 * the guarantees of SPEC §6 and issue 16: every acknowledged order reads back unchanged, 1..N
 * without gaps, identical logs epochs included, the catalog equal to the log, epochs never
 * decreasing along the log nor on any replica, and one leader per epoch. A monitor in the test's
 * own namespace (no partition touches it) samples every replica's status throughout.
 *
 * Needs root, `ip netns` and `nft` (see describeAcrossHosts).
 */
describeAcrossHosts('partitions', () => {
  let lab: NetLab;
  let c: Cluster | undefined;
  let monitor: ReplicaMonitor | undefined;
  /** The loads of the running test, stopped after it whatever happened. */
  let loads: ReturnType<typeof tradeLoad>[] = [];
  const track = (load: ReturnType<typeof tradeLoad>) => (loads.push(load), load);
  const timings: string[] = [];
  /** The loads' stops, begun before the heal and awaited once the processes are gone. */
  let stopping: Promise<unknown>[] = [];

  netLabHooks(PARTITION_HOSTS, {
    suite: 'partitions',
    created: (created) => (lab = created),
    beforeHeal: () => {
      stopping = loads.map((l) => l.stop());
      loads = [];
    },
    cleanUp: async () => {
      try {
        await monitor?.stop();
      } finally {
        monitor = undefined;
        await c?.stop();
        c = undefined;
        // Their requests in flight fail at once now that the processes are gone.
        await Promise.all(stopping);
      }
    },
    done: () => {
      if (timings.length > 0) console.log(`partitions timings:\n${timings.join('\n')}`);
    },
  });

  /**
   * The cluster with two front ends, A and B, a replica monitor, and a trading load of two sessions
   * through each; `progress(n)` resolves once each load has n more trades acknowledged.
   */
  const twoFrontendsUnderLoad = async () => {
    c = await startPartitionCluster(lab, { secondFrontend: true });
    const [a, b] = [c.frontend, secondFrontendUrl(c)];
    monitor = new ReplicaMonitor(c);
    const loadA = track(tradeLoad({ frontend: a }, { sessions: 2 }));
    const loadB = track(tradeLoad({ frontend: b }, { sessions: 2 }));
    const progress = async (n: number) => {
      const [na, nb] = [loadA.outcome.acked.length, loadB.outcome.acked.length];
      await Promise.all([loadA.acked(na + n, 60000), loadB.acked(nb + n, 60000)]);
    };
    return { a, b, loadA, loadB, progress };
  };

  const status = async (id: number) => (await c!.internal(`${c!.replica(id)}/replication/status`, { timeoutMs: 3000 })).body;

  for (const mode of ['blackhole', 'drop'] as const) {
    it(`double fault (${mode}): follower 2 isolated from the other replicas, leader 3 SIGKILLed meanwhile, heal, restart 3: nothing acknowledged lost, changed or renumbered; 2 never leads with a stale log`, async () => {
      /** How long both faults last together: longer than a candidate's step-back (2 × PEER_TIMEOUT_MS) and the readiness check (FOLLOWER_TIMEOUT_MS). */
      const DOUBLE_FAULT_MS = 8000;
      const t0 = Date.now();
      c = await startPartitionCluster(lab);
      monitor = new ReplicaMonitor(c);
      const load = track(tradeLoad(c, { sessions: 4 }));
      await load.acked(20);
      const before = await leaderOf(c.frontend);
      // Leader 3, isolated follower 2 (the one the front end proposes first once 3 is gone), other
      // follower 1 — as named, unless the front end already moved the job before any fault (a
      // slow ping on this busy machine): then the same roles go to the replicas that hold them.
      const leader = before.leader;
      const [isolated, other] = [1, 2, 3].filter((id) => id !== leader).sort((x, y) => y - x);

      // The isolated follower cut from both other replicas; the front end and the catalog still reach it.
      cut(lab, mode, `order${isolated}`, `order${other}`);
      cut(lab, mode, `order${isolated}`, `order${leader}`);
      const cutAt = Date.now();
      // The leader and the other follower are a majority: trades go on, and the isolated one falls behind.
      await load.acked(load.outcome.acked.length + 30, 60000);
      const ackedAtKill = load.outcome.acked.length;
      const isolatedAtKill = (await c.orderTable(isolated)).length;
      const otherAtKill = (await c.orderTable(other)).length;
      expect(isolatedAtKill).toBeLessThan(otherAtKill);

      await c.kill(`order-${leader}`);
      const killedAt = Date.now();
      // The other follower alone (the leader down, the isolated one cut off) and the isolated one
      // alone: no majority anywhere. Whoever the front end proposes must not lead a newer epoch —
      // above all not the isolated one, with its stale log.
      await sleep(DOUBLE_FAULT_MS);
      const whileDown = monitor.since(killedAt);
      const leadersWhileDown = whileDown.filter((s) => s.role === 'leader' && s.leader === s.id && s.epoch > before.epoch);
      expect(leadersWhileDown).toEqual([]);
      const promotingWhileDown = [...new Set(whileDown.filter((s) => s.role === 'promoting').map((s) => `${s.id}@${s.epoch}`))];
      const isolatedBeforeHeal = await c.orderTable(isolated);
      expect(isolatedBeforeHeal.length).toBe(isolatedAtKill); // nobody wrote to its log while it was alone
      const ackedWhileDown = load.outcome.acked.length - ackedAtKill;

      lab.healAll();
      const healedAt = Date.now();
      // The two followers can talk again: a majority, so trades resume (the old leader still down).
      const resumeFrom = load.outcome.acked.length;
      await load.acked(resumeFrom + 20, 60000);
      const resumedMs = Date.now() - healedAt;
      const mid = await leaderOf(c.frontend);
      expect(mid.epoch).toBeGreaterThan(before.epoch);
      expect([isolated, other]).toContain(mid.leader);

      const restartAt = Date.now();
      await c.startReplica(leader);
      await c.waitReady(leader, 60000);
      const restartedMs = Date.now() - restartAt;
      await load.acked(load.outcome.acked.length + 20, 60000);
      const { acked, errors } = await load.stop();
      // With two replicas out of reach a trade fails fast with 503 (SPEC §6.5); nothing else reaches the client.
      expect(errors.filter((e) => e.status !== 503)).toEqual([]);

      const log = await expectAllKept(c, acked);
      // The restarted replica took the cluster's epoch and leader, not its old ones.
      await waitFor('every replica at the same epoch and leader', async () => {
        const all = await Promise.all([1, 2, 3].map(status));
        return all.every((s) => s.epoch === all[0].epoch && s.leader === all[0].leader);
      }, 20000);
      const samples = await monitor.stop();
      expect(epochRegressions(samples)).toEqual([]);
      const claims = expectOneLeaderPerEpoch(c, samples, log);
      timings.push(
        `double fault (${mode}): leader ${leader}, follower ${isolated} isolated; ${ackedAtKill} acknowledged when ${leader} was killed ${killedAt - cutAt} ms after the cut ` +
          `(${isolated} at ${isolatedAtKill}, ${other} at ${otherAtKill}); ${ackedWhileDown} acknowledged in the ${DOUBLE_FAULT_MS} ms without a majority (in flight at the kill), ` +
          `promoting meanwhile: [${promotingWhileDown.join(', ')}]; trades resumed through ${mid.leader} (epoch ${mid.epoch}) ${resumedMs} ms after the heal; ` +
          `${leader} restarted and ready in ${restartedMs} ms (process start included); ${errors.length} failed with 503; ${log.length} orders, ` +
          `epochs along the log ${JSON.stringify(epochRuns(log).map((r) => `${r.epoch}:${r.from}-${r.to}`))}, leaders ${JSON.stringify(claims)}; ${Date.now() - t0} ms in all`,
      );
    }, 300000);
  }

  it('two front ends cut from different replicas (drop), A from 3 and B from 2: they settle on the one leader both reach, and trades go on through both while the cuts hold', async () => {
    // Each front end proposes the highest id it reaches: left to that alone, A would name 2 and B 3,
    // each deposing the other's leader in turn, for as long as the cuts hold.
    const t0 = Date.now();
    const { a, b, loadA, loadB, progress } = await twoFrontendsUnderLoad();
    const onReplica1 = (what: string) =>
      waitFor(what, async () => {
        const [la, lb] = await Promise.all([http(`${a}/leader`, { timeoutMs: 2000 }), http(`${b}/leader`, { timeoutMs: 2000 })]);
        const same = la.status === 200 && lb.status === 200 && la.body.leader === lb.body.leader && la.body.epoch === lb.body.epoch;
        return same && la.body.leader === 1 ? { epoch: la.body.epoch as number } : undefined;
      }, 60000);
    await progress(10);
    const before = await leaderOf(a);
    // Replica 1 leading already (both 3 and 2 missed pings on a busy machine) would prove nothing.
    expect({ leaderBeforeTheCuts: before.leader === 1 ? 1 : 'another' }).toEqual({ leaderBeforeTheCuts: 'another' });
    cut(lab, 'drop', 'order3', 'frontend');
    cut(lab, 'drop', 'order2', 'frontend2');
    const cutAt = Date.now();
    const settled = await onReplica1('both front ends on replica 1, the one both reach');
    const settledMs = Date.now() - cutAt;
    await progress(50);
    const after = await onReplica1('both front ends still on replica 1 after 50 more trades each');
    lab.healAll();
    await progress(10);
    const [outA, outB] = await Promise.all([loadA.stop(), loadB.stop()]);
    // Only the trades caught in a switch may fail, with 503; nothing else reaches the client.
    expect([...outA.errors, ...outB.errors].filter((e) => e.status !== 503)).toEqual([]);
    const log = await expectAllKept(c!, [...outA.acked, ...outB.acked], [a, b]);
    const samples = await monitor!.stop();
    expect(epochRegressions(samples)).toEqual([]);
    const claims = expectOneLeaderPerEpoch(c!, samples, log);
    const [histA, histB] = await Promise.all([leaderChanges(a), leaderChanges(b)]);
    const show = (h: LeaderChangeEntry[]) => h.map((x) => `${x.leader}@${x.epoch}`).join(' ');
    timings.push(
      `two front ends cut from different replicas (drop): from ${before.leader}@${before.epoch}, both on 1@${settled.epoch} after ${settledMs} ms, 1@${after.epoch} after 50 more trades each; ` +
        `acknowledged A ${outA.acked.length} B ${outB.acked.length}, 503s A ${outA.errors.length} B ${outB.errors.length}; ${log.length} orders, leaders ${JSON.stringify(claims)}; ` +
        `A named [${show(histA)}], B named [${show(histB)}]; ${Date.now() - t0} ms in all`,
    );
  }, 300000);

  for (const mode of ['blackhole', 'drop'] as const) {
    it(`two front ends electing under a load through both (${mode}): front end A cut from leader 3, heal, the leader cut from front end B and a follower, heal, the leader cut from both at once, heal: nothing doubled or lost, one leader per epoch`, async () => {
      const t0 = Date.now();
      const { a, b, loadA, loadB, progress } = await twoFrontendsUnderLoad();
      /** Both front ends name one leader and epoch satisfying `ok`. */
      const agreed = (what: string, ok: (l: { leader: number; epoch: number }) => boolean) =>
        waitFor(what, async () => {
          const [la, lb] = await Promise.all([http(`${a}/leader`, { timeoutMs: 2000 }), http(`${b}/leader`, { timeoutMs: 2000 })]);
          if (la.status !== 200 || lb.status !== 200) return undefined;
          const same = la.body.leader === lb.body.leader && la.body.epoch === lb.body.epoch;
          return same && ok(la.body) ? { leader: la.body.leader as number, epoch: la.body.epoch as number } : undefined;
        }, 30000);
      /**
       * One phase: the `cuts` made in turn, until both front ends agree on a leader satisfying `ok`
       * (`ms` after the last cut), trades through both, the heal, trades through both again.
       */
      const phase = async (cuts: [string, string][], what: string, ok: (l: { leader: number; epoch: number }) => boolean) => {
        for (const [x, y] of cuts) cut(lab, mode, x, y);
        const cutAt = Date.now();
        const l = await agreed(what, ok);
        const ms = Date.now() - cutAt;
        await progress(20);
        lab.healAll();
        await progress(20);
        return { ...l, ms };
      };

      await progress(10);
      // Replica 3 unless a slow ping on this busy machine already moved the job.
      const l0 = await agreed('both front ends on one leader', () => true);

      // Phase 1: A loses the leader and elects another one at a newer epoch; B still reaches the old one.
      const l1 = await phase([[`order${l0.leader}`, 'frontend']], 'both front ends on a new leader', (l) => l.leader !== l0.leader && l.epoch > l0.epoch);

      // Phase 2: the leader now loses B and one follower (replica 1 unless it leads); it keeps a
      // majority with the third replica, and A still reaches it, while B elects another one.
      const current = await agreed('both front ends on one leader after the heal', () => true);
      const follower = [1, 2, 3].find((id) => id !== current.leader)!;
      const l2 = await phase(
        [
          [`order${current.leader}`, 'frontend2'],
          [`order${current.leader}`, `order${follower}`],
        ],
        'both front ends on a leader B can reach',
        (l) => l.leader !== current.leader && l.epoch > current.epoch,
      );

      // Phase 3: both front ends lose the leader at once and elect at the same time, A unable to
      // reach the replica B proposes (the highest id left), so that they may name different
      // candidates for the same epoch number: the replicas' votes decide, one leader per epoch.
      const sitting = await agreed('both front ends on one leader after the second heal', () => true);
      const bPick = Math.max(...[1, 2, 3].filter((id) => id !== sitting.leader));
      // A loses B's pick first (its leader still answers it), so that A cannot elect that one in
      // the moment between two cuts.
      const l3 = await phase(
        [
          [`order${bPick}`, 'frontend'],
          [`order${sitting.leader}`, 'frontend'],
          [`order${sitting.leader}`, 'frontend2'],
        ],
        'both front ends on a leader A can reach',
        (l) => l.leader !== sitting.leader && l.leader !== bPick && l.epoch > sitting.epoch,
      );
      const [outA, outB] = await Promise.all([loadA.stop(), loadB.stop()]);
      // Only the trades caught in a switch may fail, with 503; nothing else reaches the client.
      expect([...outA.errors, ...outB.errors].filter((e) => e.status !== 503)).toEqual([]);

      const acked = [...outA.acked, ...outB.acked];
      const log = await expectAllKept(c!, acked, [a, b]);
      const samples = await monitor!.stop();
      expect(epochRegressions(samples)).toEqual([]);
      const claims = expectOneLeaderPerEpoch(c!, samples, log);
      // The front ends' own records: whoever led an epoch of the log was named for it by a front end.
      const [histA, histB] = await Promise.all([leaderChanges(a), leaderChanges(b)]);
      const named = new Map<number, Set<number>>();
      for (const h of [...histA, ...histB]) {
        if (h.epoch !== null && h.leader !== null) named.set(h.epoch, (named.get(h.epoch) ?? new Set()).add(h.leader));
      }
      for (const e of new Set(log.map((o) => o.epoch))) {
        expect({ epoch: e, leader: claims[e]?.[0], namedByAFrontEnd: named.get(e)?.has(claims[e]?.[0]) ?? false }).toEqual({
          epoch: e,
          leader: claims[e]?.[0],
          namedByAFrontEnd: true,
        });
      }
      const show = (h: LeaderChangeEntry[]) => h.map((x) => `${x.leader}@${x.epoch}`).join(' ');
      timings.push(
        `two front ends (${mode}): A cut from ${l0.leader}: both on ${l1.leader}@${l1.epoch} after ${l1.ms} ms; ` +
          `${current.leader} cut from B and ${follower}: both on ${l2.leader}@${l2.epoch} after ${l2.ms} ms; ` +
          `${sitting.leader} cut from A and B, ${bPick} from A: both on ${l3.leader}@${l3.epoch} after ${l3.ms} ms; ` +
          `acknowledged A ${outA.acked.length} B ${outB.acked.length}, 503s A ${outA.errors.length} B ${outB.errors.length}; ` +
          `${log.length} orders, epochs along the log ${JSON.stringify(epochRuns(log).map((r) => `${r.epoch}:${r.from}-${r.to}`))}, leaders ${JSON.stringify(claims)}; ` +
          `A named [${show(histA)}], B named [${show(histB)}]; ${Date.now() - t0} ms in all`,
      );
    }, 300000);
  }
});
