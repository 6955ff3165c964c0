/**
 * How cost grows with the pods a node already runs: with 10, 100 and 300 pods resident on node 1
 * (pools on, each added through libcni and kept), rounds of a pod without a static IP (ADD then
 * DEL, one at a time), their Neutron calls, and the agent's own next reconcile (its
 * nnet_reconcile_duration_seconds). The resident pods are deleted at the end.
 */
import { sleep } from '../lab/sh.ts';
import { agentMetric, type TestAgent } from '../test/support/agent.ts';
import { addNetns, type Bench, delNetns, type Runtime } from './cluster.ts';
import { breakdown, newPod, readPluginLog, type TimedCall, timed } from './cnilat.ts';
import { countOutcomes } from './pools.ts';
import type { BenchPod } from './record.ts';
import { type Summary, summary } from './stats.ts';

export interface GrowthLevel {
  /** Pods resident on the node while this level was measured. */
  resident: number;
  /** How long the pool took to be full again before the rounds (absent in runs before it waited). */
  poolReadyS?: number;
  add: Summary;
  del: Summary;
  /** Neutron calls of one ADD and of one DEL (median). */
  neutronCallsPerAdd: number;
  neutronCallsPerDel: number;
  hits: number;
  misses: number;
  /** The agent's first reconcile run wholly at this level. */
  reconcileMs: number;
  failed: number;
}

export interface GrowthResult {
  levels: GrowthLevel[];
  rounds: number;
  /** Resident pods that could not be added (the levels say how many were resident). */
  residentFailures: string[];
}

/** The reconcile histogram's count and sum, from the agent's /metrics. */
async function reconcileTotals(agent: TestAgent): Promise<{ count: number; sum: number }> {
  return {
    count: (await agentMetric(agent, 'nnet_reconcile_duration_seconds_count')) ?? Number.NaN,
    sum: (await agentMetric(agent, 'nnet_reconcile_duration_seconds_sum')) ?? Number.NaN,
  };
}

/**
 * Waits for a reconcile that starts after this call and ends (the first one counted may have
 * started before): the duration of the second reconcile ending from now on.
 */
async function nextReconcileMs(agent: TestAgent, deadlineMs: number): Promise<number> {
  const t0 = performance.now();
  const start = await reconcileTotals(agent);
  let previous = start;
  for (;;) {
    await sleep(250);
    const now = await reconcileTotals(agent);
    if (now.count >= start.count + 2 && now.count > previous.count)
      return ((now.sum - previous.sum) / (now.count - previous.count)) * 1000;
    if (now.count === start.count + 1 && previous.count === start.count) previous = now;
    if (performance.now() - t0 > deadlineMs)
      throw new Error(`the agent ran no whole reconcile within ${deadlineMs / 1000} s`);
  }
}

export async function measureGrowth(
  b: Bench,
  rt: Runtime,
  o: {
    levels: readonly number[];
    rounds: number;
    concurrency: number;
    agent: TestAgent;
    reconcileDeadlineMs: number;
    /** Waits until node 1's pool is full again; seconds waited. */
    waitPoolReady: () => Promise<number>;
    log: (l: string) => void;
  },
): Promise<GrowthResult> {
  const resident: BenchPod[] = [];
  const residentFailures: string[] = [];
  const levels: GrowthLevel[] = [];
  const addResident = async (target: number) => {
    const want = Array.from({ length: target - resident.length }, (_, i) =>
      newPod(`grow${resident.length + i}`),
    );
    let next = 0;
    const worker = async () => {
      while (next < want.length) {
        const p = want[next++]!;
        await addNetns(b, p.netns);
        const pod = { ...p, cniDir: rt.dir };
        b.record.update((d) => void d.pods.push(pod));
        const add = await timed(rt, 'add', 'pooled', p);
        if (add.ok) resident.push(pod);
        else {
          residentFailures.push(`${p.name}: ${add.error ?? 'failed'}`);
          await timed(rt, 'del', 'pooled', p);
          b.record.removePod(p.containerId);
          await delNetns(b, p.netns);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  };
  try {
    for (const level of o.levels) {
      await addResident(level);
      // The rounds measure a pool port's ADD at this scale: the refill that the resident pods
      // set off has to catch up first (its wait is the pool's, reported by churn and 64-at-once).
      const readyS = await o.waitPoolReady();
      o.log(
        `${resident.length} pods resident on node 1 (pool ready again after ${readyS.toFixed(1)} s); ${o.rounds} ADD+DEL rounds`,
      );
      const calls: TimedCall[] = [];
      for (let i = 0; i < o.rounds; i++) {
        const p = newPod(`grow-r${level}-${i}`);
        await addNetns(b, p.netns);
        b.record.update((d) => void d.pods.push({ ...p, cniDir: rt.dir }));
        try {
          calls.push(await timed(rt, 'add', 'pooled', p));
          const del = await timed(rt, 'del', 'pooled', p);
          calls.push(del);
          if (del.ok) b.record.removePod(p.containerId);
        } finally {
          await delNetns(b, p.netns);
        }
      }
      const reconcileMs = await nextReconcileMs(o.agent, o.reconcileDeadlineMs);
      const logged = readPluginLog(rt.logFile);
      const adds = calls.filter((c) => c.verb === 'ADD');
      const dels = calls.filter((c) => c.verb === 'DEL');
      const { hits, misses } = countOutcomes(rt.logFile, calls);
      const row: GrowthLevel = {
        resident: resident.length,
        poolReadyS: readyS,
        add: summary(adds.filter((c) => c.ok).map((c) => c.wallMs)),
        del: summary(dels.filter((c) => c.ok).map((c) => c.wallMs)),
        neutronCallsPerAdd: breakdown(adds, logged).neutronCallsPerOp,
        neutronCallsPerDel: breakdown(dels, logged).neutronCallsPerOp,
        hits,
        misses,
        reconcileMs,
        failed: calls.filter((c) => !c.ok).length,
      };
      levels.push(row);
      o.log(
        `${row.resident} resident: ADD p50 ${row.add.p50.toFixed(0)} ms (${row.neutronCallsPerAdd} Neutron calls), DEL p50 ${row.del.p50.toFixed(0)} ms, reconcile ${row.reconcileMs.toFixed(0)} ms`,
      );
    }
  } finally {
    o.log(`deleting the ${resident.length} resident pods`);
    let next = 0;
    const worker = async () => {
      while (next < resident.length) {
        const p = resident[next++]!;
        const del = await timed(rt, 'del', 'pooled', p);
        if (del.ok) b.record.removePod(p.containerId);
        await delNetns(b, p.netns);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  }
  return { levels, rounds: o.rounds, residentFailures };
}
