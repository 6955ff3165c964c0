/**
 * Warm port pools in the benchmark: the cluster's pool settings switched on (what `kubenetctl set
 * cluster --pool-min …` writes), node 1's pool filled by its nnet-agent, then rounds of a pod
 * without a static IP — ADD (a pool hit only moves a warm NIC into the pod), one ping to a pod on
 * node 2 sent the moment ADD returns (the data path must already pass it), DEL (the port goes back
 * to the pool). Which ADDs were hits is read from the agent's own log line ("port acquired", source).
 */
import { readFileSync } from 'node:fs';
import { run, sleep } from '../lab/sh.ts';
import { poolDeviceId } from '../src/resources/index.ts';
import type { PoolSettings } from '../src/store/index.ts';
import { setPoolSettings } from '../test/support/pools.ts';
import { addNetns, type Bench, delNetns, type Runtime } from './cluster.ts';
import { newPod, type TimedCall, timed } from './cnilat.ts';
import type { Endpoint } from './pods.ts';

/** Enough ready ports for the churn's concurrency; DEL recycles up to max. */
export const BENCH_POOL: PoolSettings = { min: 16, max: 32, batch: 16 };

/** The nested rounds take one port at a time: a few ready subports are enough. */
export const NESTED_POOL: PoolSettings = { min: 4, max: 8, batch: 4 };

export interface PooledResult {
  settings: PoolSettings;
  /** From switching pools on to node 1's pool holding `min` ready ports. */
  fillS: number;
  calls: TimedCall[];
  /** ADDs whose port came from the pool, and the others (made by ADD: a miss). */
  hits: number;
  misses: number;
  /** The first ping after each ADD returned, to a pod on the other node. */
  firstPing: { sent: number; lost: number; target: string };
}

/** Sets (or, with undefined, removes) the cluster's pool settings in its store record. */
export const setPools = (b: Bench, pool: PoolSettings | undefined): Promise<void> =>
  setPoolSettings({ store: b.store, name: b.cluster }, pool);

/** Waits (bounded) until the node's agent records a pool with at least `ready` ports; seconds taken. */
export async function waitPoolReady(
  b: Bench,
  node: string,
  ready: number,
  deadlineMs = 300_000,
): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const rec = await b.store.nodes.get({ cluster: b.cluster, name: node });
    if ((rec?.pools ?? []).some((p) => p.ready >= ready)) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > deadlineMs)
      throw new Error(`node ${node}'s pool did not reach ${ready} ready ports in ${deadlineMs / 1000} s`);
    await sleep(500);
  }
}

/**
 * Waits (bounded) until no pool port of either node (nor of `more` nodes, the VMs) is left in
 * Neutron: the drain that follows pools off.
 */
export async function waitPoolsDrained(b: Bench, more: string[] = [], deadlineMs = 300_000): Promise<void> {
  const names = new Set([...b.nodes.map((n) => n.name), ...more].map(poolDeviceId));
  const t0 = performance.now();
  for (;;) {
    const ports = await b.admin.ports.list({ networkId: b.network.id });
    const left = ports.filter((p) => names.has(p.name) || names.has(p.deviceId)).length;
    if (left === 0) return;
    if (performance.now() - t0 > deadlineMs)
      throw new Error(
        `${left} pool ports still in Neutron ${deadlineMs / 1000} s after pools were switched off`,
      );
    await sleep(1000);
  }
}

/**
 * Per ADD of the log (by container id): where its port came from, and whether it answered only
 * after ovn-controller's claim wait ran out (the warning follows its "port acquired" line).
 */
export function addOutcomes(logFile: string): Map<string, { source: string; claimTimedOut: boolean }> {
  const out = new Map<string, { source: string; claimTimedOut: boolean }>();
  const holder = new Map<string, string>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const acquired = line.includes('"port acquired"');
    if (!acquired && !line.includes('has not claimed the port')) continue;
    const l = JSON.parse(line) as { containerId?: string; source?: string; portId?: string };
    if (acquired && l.containerId && l.source) {
      out.set(l.containerId, { source: l.source, claimTimedOut: false });
      if (l.portId) holder.set(l.portId, l.containerId);
    } else if (!acquired && l.portId) {
      const o = out.get(holder.get(l.portId) ?? '');
      if (o) o.claimTimedOut = true;
    }
  }
  return out;
}

/** Of these ADDs: how many took a pool port, made one, or waited out OVN's claim. */
export function countOutcomes(logFile: string, adds: readonly TimedCall[]) {
  const outcomes = addOutcomes(logFile);
  const ok = adds.filter((c) => c.verb === 'ADD' && c.ok);
  const hits = ok.filter((c) => outcomes.get(c.containerId)?.source === 'pool').length;
  return {
    hits,
    misses: ok.length - hits,
    claimTimeouts: ok.filter((c) => outcomes.get(c.containerId)?.claimTimedOut).length,
  };
}

export async function measurePooled(
  b: Bench,
  rt: Runtime,
  o: { pods: number; target: Endpoint; log: (l: string) => void },
): Promise<Omit<PooledResult, 'settings' | 'fillS'>> {
  const calls: TimedCall[] = [];
  let lost = 0;
  let sent = 0;
  for (let i = 0; i < o.pods; i++) {
    const p = newPod(`pool${i}`);
    await addNetns(b, p.netns);
    b.record.update((d) => void d.pods.push({ ...p, cniDir: rt.dir }));
    try {
      const add = await timed(rt, 'add', 'pooled', p);
      calls.push(add);
      if (add.ok) {
        sent++;
        const ping = await run('ping', ['-c', '1', '-W', '5', o.target.ip], {
          netns: p.netns,
          allowFail: true,
        });
        if (ping.code !== 0) lost++;
      }
      const del = await timed(rt, 'del', 'pooled', p);
      calls.push(del);
      if (del.ok) b.record.removePod(p.containerId);
    } finally {
      await delNetns(b, p.netns);
    }
    if ((i + 1) % 10 === 0 || i + 1 === o.pods) {
      const last = calls.slice(-20).filter((x) => x.verb === 'ADD');
      o.log(
        `${i + 1}/${o.pods} pooled rounds; last ADDs ${last.map((x) => x.wallMs.toFixed(0)).join(' ')} ms`,
      );
    }
  }
  const { hits, misses } = countOutcomes(rt.logFile, calls);
  return { calls, hits, misses, firstPing: { sent, lost, target: o.target.ip } };
}
