/**
 * CNI ADD/DEL latency through libcni, with where the time goes (read back from the plugin's JSON
 * log: each Neutron call's duration, each Keystone authentication's, the plug), and churn: many
 * pods added and deleted concurrently on one node, then what is left (expect nothing). The command
 * runs in the node's nnet-agent (the plugin's runPlugin on the forwarded request), which writes
 * those lines to the conflist's logFile as the plugin did; `nnet` itself is the thin client.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { run } from '../lab/sh.ts';
import { NeutronError } from '../src/errors/index.ts';
import { listAllPorts, parsePlugSettings } from '../src/plug/index.ts';
import { DEVICE_OWNER, poolDeviceId, reservePort } from '../src/resources/index.ts';
import {
  addNetns,
  type Bench,
  type CallResult,
  delNetns,
  harnessCall,
  POD_NAMESPACE,
  PREFIX,
  type Runtime,
} from './cluster.ts';
import type { BenchPod } from './record.ts';
import { type Summary, summary } from './stats.ts';

/** How the pod's port came: reserved beforehand (static IP), made by ADD, or taken from the node's warm pool. */
export type PodKind = 'reserved' | 'created' | 'pooled';

export interface TimedCall {
  kind: PodKind;
  verb: 'ADD' | 'DEL';
  containerId: string;
  wallMs: number;
  ok: boolean;
  error?: string;
}

/** One plugin invocation as its log tells it. */
export interface LoggedCall {
  containerId: string;
  command: string;
  pluginMs: number | undefined;
  /** Time with at least one Neutron request in flight (some run in parallel). */
  neutronMs: number;
  /** The requests' durations added up. */
  neutronSumMs: number;
  neutronCalls: { method: string; path: string; status: number; ms: number }[];
  keystoneMs: number;
  keystoneCalls: number;
  /**
   * ADD: from "port acquired" to "plugged" (OVSDB + ip batches + the netns move), less the Neutron
   * time in between (a reserved port's binding PUT, which the plug waits for); DEL: start to "unplugged".
   */
  ovsMs: number | undefined;
  /** ADD: from "plugged" to "attached" (the store write). */
  storeWriteMs: number | undefined;
  /** Every log line: ms since runPlugin started, message, and its duration where it has one. */
  timeline: { t: number; msg: string; ms?: number }[];
}

interface LogLine {
  ts?: string;
  msg?: string;
  command?: string;
  containerId?: string;
  method?: string;
  path?: string;
  status?: number;
  ms?: number;
  durationMs?: number;
}

/** Length of the union of [start, end] intervals. */
export function busyMs(intervals: readonly (readonly [number, number])[]): number {
  const s = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  return total + (cur ? cur[1] - cur[0] : 0);
}

/** Groups a plugin log file by (containerId, command). */
export function readPluginLog(file: string): Map<string, LoggedCall> {
  const out = new Map<string, LoggedCall>();
  const lines: LogLine[] = [];
  try {
    for (const l of readFileSync(file, 'utf8').split('\n')) if (l) lines.push(JSON.parse(l));
  } catch {
    return out;
  }
  const groups = new Map<string, LogLine[]>();
  for (const l of lines) {
    if (!l.containerId || !l.command) continue;
    const k = `${l.containerId}/${l.command}`;
    groups.set(k, [...(groups.get(k) ?? []), l]);
  }
  for (const [k, ls] of groups) {
    const t = (msg: string) => {
      const l = ls.find((x) => x.msg === msg);
      return l?.ts ? Date.parse(l.ts) : undefined;
    };
    const command = ls[0]!.command!;
    const done = ls.find((x) => x.msg === `${command} ok`);
    const end = t(`${command} ok`);
    const start = end !== undefined && done?.durationMs !== undefined ? end - done.durationMs : undefined;
    const neutronCalls = ls
      .filter((x) => x.msg === 'neutron call')
      .map((x) => ({
        method: x.method ?? '?',
        // ids out, so calls of different pods read alike
        path: (x.path ?? '?').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}'),
        status: x.status ?? 0,
        ms: x.durationMs ?? x.ms ?? 0,
      }));
    const tokens = ls.filter((x) => x.msg === 'token issued');
    const diff = (a: number | undefined, b: number | undefined) =>
      a !== undefined && b !== undefined ? a - b : undefined;
    const neutronSpans = ls
      .filter((x) => x.msg === 'neutron call' && x.ts)
      .map((x) => [Date.parse(x.ts!) - (x.durationMs ?? x.ms ?? 0), Date.parse(x.ts!)] as const);
    /** Time with a Neutron request in flight within [from, to]. */
    const neutronWithin = (from: number, to: number) =>
      busyMs(
        neutronSpans.map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as const).filter(([a, b]) => b > a),
      );
    const [acquired, plugged] = [t('port acquired'), t('plugged')];
    out.set(k, {
      containerId: ls[0]!.containerId!,
      command,
      pluginMs: done?.durationMs,
      neutronMs: busyMs(neutronSpans),
      neutronSumMs: neutronCalls.reduce((a, c) => a + c.ms, 0),
      neutronCalls,
      keystoneMs: tokens.reduce((a, x) => a + (x.durationMs ?? 0), 0),
      keystoneCalls: tokens.length,
      ovsMs:
        command === 'ADD'
          ? acquired !== undefined && plugged !== undefined
            ? plugged - acquired - neutronWithin(acquired, plugged)
            : undefined
          : diff(t('unplugged'), start),
      storeWriteMs: command === 'ADD' ? diff(t('attached'), t('plugged')) : undefined,
      timeline: ls.map((x) => {
        const d = x.durationMs ?? x.ms;
        const what =
          x.msg === 'neutron call'
            ? `neutron ${x.method} ${(x.path ?? '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')}`
            : (x.msg ?? '?');
        return {
          t: start !== undefined && x.ts ? Date.parse(x.ts) - start : Number.NaN,
          msg: what,
          ...(d !== undefined && x.msg !== `${command} ok` ? { ms: d } : {}),
        };
      }),
    });
  }
  return out;
}

export interface Breakdown {
  /** What the calls were, by kind and verb. */
  wallMs: Summary;
  pluginMs: Summary;
  neutronMs: Summary;
  keystoneMs: Summary;
  ovsMs: Summary;
  /** Outside the agent's runPlugin: libcni, the thin client's process start and its socket round trip. */
  startupMs: Summary;
  /** wall − Neutron − Keystone: N-Net's own time (incl. the thin client, the agent's queue, the plug, the store). */
  nnetOwnMs: Summary;
  /** Medians of the shares of wall time. */
  share: { neutron: number; keystone: number; nnetOwn: number };
  neutronCallsPerOp: number;
  /** The Neutron calls of one typical call, in order. */
  neutronSequence: string[];
  /** The log of that call: ms since runPlugin started (ms resolution), message, duration. */
  typicalTimeline: { t: number; msg: string; ms?: number }[];
  typicalWallMs: number;
  authenticated: number;
  /** Calls that failed (excluded from everything above). */
  failed: number;
}

export function breakdown(calls: readonly TimedCall[], logged: Map<string, LoggedCall>): Breakdown {
  const rows = calls
    .filter((c) => c.ok)
    .map((c) => ({ c, l: logged.get(`${c.containerId}/${c.verb}`) }))
    .filter((r): r is { c: TimedCall; l: LoggedCall } => r.l !== undefined);
  const col = (f: (r: { c: TimedCall; l: LoggedCall }) => number | undefined) =>
    summary(rows.map((r) => f(r) ?? Number.NaN));
  const share = (f: (r: { c: TimedCall; l: LoggedCall }) => number) => summary(rows.map(f)).p50;
  // the call with the median wall time
  const sorted = [...rows].sort((x, y) => x.c.wallMs - y.c.wallMs);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  const typical = mid?.l;
  return {
    wallMs: col((r) => r.c.wallMs),
    pluginMs: col((r) => r.l.pluginMs),
    neutronMs: col((r) => r.l.neutronMs),
    keystoneMs: col((r) => r.l.keystoneMs),
    ovsMs: col((r) => r.l.ovsMs),
    startupMs: col((r) => (r.l.pluginMs === undefined ? undefined : r.c.wallMs - r.l.pluginMs)),
    nnetOwnMs: col((r) => r.c.wallMs - r.l.neutronMs - r.l.keystoneMs),
    share: {
      neutron: share((r) => r.l.neutronMs / r.c.wallMs),
      keystone: share((r) => r.l.keystoneMs / r.c.wallMs),
      nnetOwn: share((r) => (r.c.wallMs - r.l.neutronMs - r.l.keystoneMs) / r.c.wallMs),
    },
    neutronCallsPerOp: summary(rows.map((r) => r.l.neutronCalls.length)).p50,
    neutronSequence: (typical?.neutronCalls ?? []).map((x) => `${x.method} ${x.path} ${x.ms} ms`),
    typicalTimeline: typical?.timeline ?? [],
    typicalWallMs: mid?.c.wallMs ?? Number.NaN,
    authenticated: rows.filter((r) => r.l.keystoneCalls > 0).length,
    failed: calls.filter((c) => !c.ok).length,
  };
}

/** The binding PUTs (PUT /v2.0/ports/{id}) of the reserved-port ADDs: what a static-IP ADD cannot avoid. */
export function bindingPutMs(calls: readonly TimedCall[], logged: Map<string, LoggedCall>): Summary {
  const ms = calls
    .filter((c) => c.ok && c.kind === 'reserved' && c.verb === 'ADD')
    .flatMap((c) => logged.get(`${c.containerId}/ADD`)?.neutronCalls ?? [])
    .filter((n) => n.method === 'PUT' && /\/ports\/\{id\}$/.test(n.path))
    .map((n) => n.ms);
  return summary(ms);
}

/** Retries a set-up step (not a measured one) when Neutron is briefly unreachable or busy. */
async function retry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i + 1 >= attempts || !(e instanceof NeutronError && e.reason === 'unavailable')) throw e;
      await new Promise((r) => setTimeout(r, 1000 * (i + 1)));
    }
  }
}

export const newPod = (name: string): Omit<BenchPod, 'cniDir'> => ({
  name,
  namespace: POD_NAMESPACE,
  containerId: randomBytes(16).toString('hex'),
  netns: `${PREFIX}-c-${name}`,
});

export async function timed(
  rt: Runtime,
  verb: 'add' | 'del',
  kind: PodKind,
  pod: Omit<BenchPod, 'cniDir'>,
): Promise<TimedCall> {
  const r: CallResult = await harnessCall(rt, verb, pod);
  return {
    kind,
    verb: verb === 'add' ? 'ADD' : 'DEL',
    containerId: pod.containerId,
    wallMs: r.wallMs,
    ok: r.code === 0,
    ...(r.code === 0 ? {} : { error: `${r.stdout} ${r.stderr}`.trim().slice(0, 400) }),
  };
}

/**
 * `pods` rounds; each: a pod whose port was reserved beforehand (reservePort + its network config
 * in the store, as kubenetctl does) and a pod whose port ADD creates; ADD both, then DEL both (the
 * order alternates). Reservations are made and removed outside the timed calls.
 */
export async function measureCniLatency(
  b: Bench,
  rt: Runtime,
  o: { pods: number; log: (l: string) => void; onError: (e: string) => void },
): Promise<TimedCall[]> {
  const calls: TimedCall[] = [];
  const cluster = b.cluster;
  for (let i = 0; i < o.pods; i++) {
    const r = newPod(`lat-r${i}`);
    const c = newPod(`lat-c${i}`);
    const ip = `10.77.200.${10 + i}`;
    const ref = { cluster, namespace: POD_NAMESPACE, pod: r.name };
    let reservedId: string | undefined;
    try {
      // Untimed set-up, retried: a Neutron hiccup here says nothing about the plugin.
      const reserved = await retry(() =>
        reservePort(b.admin, {
          pod: ref,
          networkId: b.network.id,
          fixedIps: [{ subnetId: b.subnet.id, ip }],
        }),
      );
      reservedId = reserved.id;
      b.record.update((d) => void d.ports.push(reserved.id));
      await b.store.podConfigs.create({
        ...ref,
        nics: [
          {
            ifname: 'eth0',
            networkId: b.network.id,
            fixedIps: [{ subnetId: b.subnet.id, ip }],
            reservedPortId: reserved.id,
          },
        ],
      });
      for (const p of [r, c]) {
        await addNetns(b, p.netns);
        b.record.update((d) => void d.pods.push({ ...p, cniDir: rt.dir }));
      }
      const order: [PodKind, typeof r][] = [
        ['reserved', r],
        ['created', c],
      ];
      if (i % 2) order.reverse();
      for (const [kind, p] of order) calls.push(await timed(rt, 'add', kind, p));
      for (const [kind, p] of order) {
        const del = await timed(rt, 'del', kind, p);
        calls.push(del);
        if (del.ok) b.record.removePod(p.containerId);
      }
    } catch (e) {
      o.onError(`round ${i}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      for (const p of [r, c]) await delNetns(b, p.netns);
      await b.store.podConfigs.delete(ref).catch(() => undefined);
      if (reservedId) {
        const id = reservedId;
        await retry(() => b.admin.ports.ensureDeleted(id)).catch(() => undefined);
        b.record.removePort(id);
      }
    }
    if ((i + 1) % 10 === 0 || i + 1 === o.pods) {
      const last = calls.slice(-40).filter((x) => x.verb === 'ADD' && x.kind === 'reserved');
      const failed = calls.filter((x) => !x.ok).length;
      o.log(
        `${i + 1}/${o.pods} rounds; last reserved ADDs ${last.map((x) => x.wallMs.toFixed(0)).join(' ')} ms${failed ? `; ${failed} failed` : ''}`,
      );
    }
  }
  return calls;
}

export interface ChurnResult {
  pods: number;
  concurrency: number;
  totalS: number;
  podsPerS: number;
  add: Summary;
  del: Summary;
  failed: { verb: string; error: string }[];
  leaks: Leaks;
  calls: TimedCall[];
}

export interface Leaks {
  neutronPorts: string[];
  ovsPorts: string[];
  /** N-Net-named host devices (nn<12 hex>, nn<letter><12 hex>) left in the node namespaces. */
  hostLinks: string[];
  attachments: string[];
  podConfigs: string[];
}

/** N-Net's Neutron ports on the bench network, its OVS ports on both nodes, the store rows. */
export async function leaks(b: Bench): Promise<Leaks> {
  const ports = await b.admin.ports.list({ networkId: b.network.id, deviceOwner: DEVICE_OWNER });
  const ovs: string[] = [];
  const links: string[] = [];
  for (const n of b.nodes) {
    const j = JSON.parse((await run('ip', ['-n', n.netns, '-j', 'link', 'show'])).stdout) as {
      ifname: string;
    }[];
    const s = parsePlugSettings({
      ovsdb: n.ovsdbSocket,
      datapathType: 'netdev',
      vswitchdNetns: `/run/netns/${n.netns}`,
    });
    const all = await listAllPorts(s);
    // The node's own port and its free pool ports keep their taps in the node's netns.
    const nodeOwn = new Set(all.filter((p) => p.driver === 'host' || p.driver === 'pool').map((p) => p.name));
    links.push(
      ...j
        .filter((l) => /^nn[a-z]?[0-9a-f]{12}$/.test(l.ifname) && !nodeOwn.has(l.ifname))
        .map((l) => `${n.name}:${l.ifname}`),
    );
    ovs.push(...all.filter((p) => !nodeOwn.has(p.name)).map((p) => `${n.name}:${p.name}`));
  }
  const att = await b.store.attachments.list({ cluster: b.cluster });
  const cfg = await b.store.podConfigs.list({ cluster: b.cluster });
  // Free pool ports are the pools', not leaks: their device_id and name say the node's pool holds
  // them (tags follow in a PUT after the bulk create, on this Neutron).
  const poolHeld = new Set(b.nodes.map((n) => poolDeviceId(n.name)));
  return {
    neutronPorts: ports.filter((p) => !poolHeld.has(p.deviceId) && !poolHeld.has(p.name)).map((p) => p.id),
    ovsPorts: ovs,
    hostLinks: links,
    attachments: att.map((a) => `${a.namespace}/${a.pod} ${a.containerId}`),
    podConfigs: cfg.map((c) => `${c.namespace}/${c.pod}`),
  };
}

/**
 * `pods` pods on one node, `concurrency` at a time: each ADD then DEL (a pod's life, as fast as
 * the kubelet would go). The netns are made before and removed after the timed part.
 */
export async function churn(
  b: Bench,
  rt: Runtime,
  o: { pods: number; concurrency: number; kind: PodKind; name?: string; log: (l: string) => void },
): Promise<ChurnResult> {
  const name = o.name ?? 'churn';
  const pods = Array.from({ length: o.pods }, (_, i) => newPod(`${name}${i}`));
  for (const p of pods) await addNetns(b, p.netns);
  b.record.update((d) => void d.pods.push(...pods.map((p) => ({ ...p, cniDir: rt.dir }))));
  const calls: TimedCall[] = [];
  let next = 0;
  let finished = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < pods.length) {
      const p = pods[next++]!;
      calls.push(await timed(rt, 'add', o.kind, p));
      const del = await timed(rt, 'del', o.kind, p);
      calls.push(del);
      if (del.ok) b.record.removePod(p.containerId);
      if (++finished % 25 === 0) o.log(`${name}: ${finished}/${pods.length} pods added and deleted`);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const totalS = (performance.now() - t0) / 1000;
  for (const p of pods) await delNetns(b, p.netns);
  const failed = calls.filter((c) => !c.ok).map((c) => ({ verb: c.verb, error: c.error ?? '' }));
  return {
    pods: o.pods,
    concurrency: o.concurrency,
    totalS,
    podsPerS: o.pods / totalS,
    add: summary(calls.filter((c) => c.verb === 'ADD' && c.ok).map((c) => c.wallMs)),
    del: summary(calls.filter((c) => c.verb === 'DEL' && c.ok).map((c) => c.wallMs)),
    failed,
    leaks: await leaks(b),
    calls,
  };
}

export interface NeutronCeiling {
  ports: number;
  concurrency: number;
  totalS: number;
  /** create + delete pairs per second */
  perS: number;
  create: Summary;
  del: Summary;
}

/**
 * What Neutron alone sustains at the same concurrency: ports created bound to the node (one POST,
 * as ADD's) and deleted (one DELETE, as DEL's), straight from this process with no plugin, no
 * process start and no plug. No CNI plugin on top of this Neutron can churn faster.
 */
export async function neutronCeiling(
  b: Bench,
  o: { ports: number; concurrency: number; node: string },
): Promise<NeutronCeiling> {
  const create: number[] = [];
  const del: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < o.ports) {
      const i = next++;
      let t = performance.now();
      const port = await b.admin.ports.create({
        networkId: b.network.id,
        name: `${PREFIX}-ceiling-${i}`,
        hostId: o.node,
        deviceOwner: 'compute:nnb-ceiling',
        deviceId: `${PREFIX}-ceiling-${i}`,
      });
      create.push(performance.now() - t);
      b.record.update((d) => void d.ports.push(port.id));
      t = performance.now();
      await b.admin.ports.ensureDeleted(port.id);
      del.push(performance.now() - t);
      b.record.removePort(port.id);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const totalS = (performance.now() - t0) / 1000;
  return {
    ports: o.ports,
    concurrency: o.concurrency,
    totalS,
    perS: o.ports / totalS,
    create: summary(create),
    del: summary(del),
  };
}
