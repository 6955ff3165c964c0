/**
 * The node agent's own work, beside the CNI requests it serves (cni.ts): watch N-Net's interfaces
 * in the node's OVSDB and re-plug pods whose NIC ovs-vswitchd recreated (after a restart the pod
 * keeps a dead copy), and reconcile the node every interval with the one sweep CNI GC uses. These
 * passes run one at a time, on the node's warm context (contexts.ts) with the Neutron queue's
 * background priority, each re-plug under its attachment's lock; a store or Neutron outage costs
 * one pass, not the agent. The first pass (start()) runs before any CNI request is served, with no
 * grace: nothing of this node is in flight then, so what a killed agent left is released at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { faultPoint } from '../faults/index.ts';
import type { Logger } from '../log/index.ts';
import {
  ensureNodePort,
  lostNodes,
  type NodeContext,
  plugNodePort,
  plugSpecOf,
  refreshNodeRoutes,
  releaseNode,
  reportNode,
  type SweepReport,
  sweep,
} from '../network/index.ts';
import {
  type InterfaceWatch,
  listAllPorts,
  netnsExists,
  type PlugSettings,
  parsePlugSpec,
  replug,
  unplug,
  watchInterfaces,
} from '../plug/index.ts';
import { completeNodeAccess, pruneNodeRules } from '../resources/index.ts';
import type { Attachment } from '../store/index.ts';
import { describeError, type NetConf } from './config.ts';
import type { NodeContexts } from './contexts.ts';
import type { AgentMetrics, ErrorOperation } from './metrics.ts';
import { noteInterface, planReplugs, sweepActionCounts, type TapIndex } from './plan.ts';
import type { PoolManager } from './pools.ts';

export interface AgentOptions {
  conf: NetConf;
  contexts: NodeContexts;
  /** The node's warm port pools (not in --once runs). */
  pools?: PoolManager | undefined;
  log: Logger;
  metrics: AgentMetrics;
  reconcileIntervalMs: number;
  graceMs: number;
  /** Interface events are gathered this long before a re-plug pass (default 100 ms). */
  settleMs?: number;
}

export interface ReplugReport {
  /** "namespace/pod ifname" of each NIC re-plugged. */
  replugged: string[];
  unchanged: number;
  errors: string[];
}

export interface OnceReport {
  replug: ReplugReport;
  sweep: SweepReport | undefined;
  errors: string[];
}

export interface Agent {
  /**
   * Runs the start-up pass (a re-plug check of every attachment, then a reconcile with no grace),
   * then starts watching OVSDB and the reconcile timer. Resolves when the start-up pass is done.
   */
  start(): Promise<void>;
  /** A re-plug check of every attachment, then a reconcile (what --once does). */
  runOnce(): Promise<OnceReport>;
  /** Stops the timers and the watch and waits for the running pass. */
  stop(): Promise<void>;
}

const RETRY_MS = 2000;

export function createAgent(o: AgentOptions): Agent {
  const { log, metrics } = o;
  const settleMs = o.settleMs ?? 100;
  const taps: TapIndex = new Map();
  const stopping = new AbortController();
  let stopped = false;
  let chain: Promise<unknown> = Promise.resolve();
  let pending = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;
  let watch: InterfaceWatch | undefined;
  let watchLoop: Promise<void> | undefined;

  const fail = (operation: ErrorOperation, what: string, e: unknown): string => {
    metrics.errors.inc({ operation });
    const msg = `${what}: ${describeError(e)}`;
    log.warn(`${operation} failed`, { what, error: e });
    return msg;
  };

  /** Runs `fn` after everything queued before it; a failure does not stop the queue. */
  function enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  }

  // Nested mode (the node is a VM) with 802.1Q devices: no OVS at all, so nothing to watch or re-plug.
  const hasOvs = !(o.conf.plugDriver === 'vlan' && (o.conf.nested?.vlanDevice ?? 'kernel') === 'kernel');

  const withCtx = <T>(fn: (ctx: NodeContext) => Promise<T>) =>
    o.contexts.run(o.conf, { log, priority: 'background' }, fn);

  /**
   * Re-plugs the attachments whose tap ovs-vswitchd recreated: those in `suspects`, those a fresh
   * listing shows with a new device, or all of them.
   */
  async function replugPass(suspects: Set<string> | 'all'): Promise<ReplugReport> {
    const report: ReplugReport = { replugged: [], unchanged: 0, errors: [] };
    if (!hasOvs) return report;
    try {
      await withCtx(async (ctx) => {
        const attachments = await ctx.store.attachments.list({ node: ctx.node });
        metrics.attachments.set(attachments.length);
        const ports = await listAllPorts(ctx.plug);
        for (const p of ports) {
          const changed = noteInterface(taps, { kind: 'modify', port: p });
          if (changed && suspects !== 'all') suspects.add(changed);
        }
        const byId = new Map(ports.flatMap((p) => (p.ifaceId ? [[p.ifaceId, p] as const] : [])));
        const plan = planReplugs({
          node: ctx.node,
          attachments,
          ports: byId,
          suspects,
          netnsAlive: netnsExists,
        });
        for (const s of plan.skipped)
          log.debug('not re-plugging', { portId: s.attachment.portId, why: s.why });
        for (const a of plan.replug) {
          const who = `${a.namespace}/${a.pod} ${a.ifname}`;
          try {
            const r = await ctx.locks.run(a, () => replugOne(ctx, a));
            if (r !== 'replugged') {
              if (r === 'unchanged') report.unchanged += 1;
              continue;
            }
            metrics.replugs.inc();
            report.replugged.push(who);
            log.info('re-plugged pod NIC', {
              pod: `${a.namespace}/${a.pod}`,
              ifname: a.ifname,
              portId: a.portId,
            });
          } catch (e) {
            report.errors.push(fail('replug', `re-plugging ${who} (port ${a.portId})`, e));
            if (suspects !== 'all') retryLater(a.portId);
          }
        }
        await replugNodePorts(ctx, byId, suspects, report);
      });
    } catch (e) {
      report.errors.push(fail('replug', 'listing attachments and OVS ports', e));
      if (suspects !== 'all') for (const id of suspects) retryLater(id);
    }
    return report;
  }

  /**
   * Re-plugs one NIC under its attachment's lock. A DEL that ran before the lock was taken has
   * removed the record: then the NIC is not wanted, and what the re-plug made is taken back.
   */
  async function replugOne(ctx: NodeContext, a: Attachment): Promise<'replugged' | 'unchanged' | 'gone'> {
    if (!(await ctx.store.attachments.get({ containerId: a.containerId, ifname: a.ifname }))) return 'gone';
    await faultPoint('replug');
    const r = await replug(ctx.plug, parsePlugSpec(plugSpecOf(a)), { log });
    if (r === 'replugged' && !(await ctx.store.attachments.get(a))) {
      await unplug(ctx.plug, { portId: a.portId, netns: a.netns, ifname: a.ifname }, { log });
      log.info('attachment deleted during re-plug; unplugged again', { portId: a.portId });
      return 'gone';
    }
    return r;
  }

  /** The node's own ports, restored like pods' NICs (their taps live in the node's netns). */
  async function replugNodePorts(
    ctx: NodeContext,
    ovs: ReadonlyMap<string, unknown>,
    suspects: Set<string> | 'all',
    report: ReplugReport,
  ): Promise<void> {
    const node = await ctx.store.nodes.get({ cluster: ctx.cluster, name: ctx.node });
    for (const p of node?.ports ?? []) {
      if (suspects !== 'all' && !suspects.has(p.portId)) continue;
      if (!ovs.has(p.portId) && suspects !== 'all') continue;
      try {
        if ((await plugNodePort(ctx, p)) === 'unchanged') report.unchanged += 1;
        else {
          metrics.replugs.inc();
          report.replugged.push(`node ${ctx.node} ${p.device}`);
          log.info('re-plugged the node port', {
            portId: p.portId,
            device: p.device,
            networkId: p.networkId,
          });
        }
      } catch (e) {
        report.errors.push(fail('replug', `re-plugging node port ${p.device} (port ${p.portId})`, e));
        if (suspects !== 'all') retryLater(p.portId);
      }
    }
  }

  /** A port of the node's own on each of the cluster's networks, so the node reaches every pod. */
  async function ensureNodePorts(ctx: NodeContext): Promise<string[]> {
    const errors: string[] = [];
    const cluster = await ctx.store.clusters.get(ctx.cluster);
    if (!cluster) return errors;
    const managed = await ctx.store.resources.list({ kind: 'network', cluster: ctx.cluster });
    const networks = new Set([
      ...managed.map((r) => r.id),
      ...(cluster.defaultNetworkId ? [cluster.defaultNetworkId] : []),
    ]);
    for (const id of networks) {
      try {
        await ensureNodePort(ctx, id);
      } catch (e) {
        errors.push(fail('reconcile', `making node ${ctx.node}'s port on network ${id}`, e));
      }
    }
    try {
      await refreshNodeRoutes(ctx);
    } catch (e) {
      errors.push(fail('reconcile', `node ${ctx.node}'s policy routes`, e));
    }
    // Rules for addresses no node port holds any more: a pod given such an address must not pass as a node.
    const access = completeNodeAccess(cluster.nodeAccess);
    if (access)
      try {
        const removed = await pruneNodeRules(await ctx.neutron(), ctx.cluster, access);
        if (removed.length > 0) log.info('node-access rules of nodes gone removed', { addresses: removed });
      } catch (e) {
        errors.push(fail('reconcile', `pruning cluster ${ctx.cluster}'s node-access rules`, e));
      }
    return errors;
  }

  /** Nodes that have left the cluster (silent, their ports down) are released by any agent. */
  async function releaseLostNodes(ctx: NodeContext): Promise<string[]> {
    const errors: string[] = [];
    try {
      const neutron = await ctx.neutron();
      for (const name of await lostNodes(ctx.store, neutron, ctx.cluster, { now: Date.now() })) {
        if (name === ctx.node) continue;
        const r = await releaseNode(ctx.store, neutron, ctx.cluster, name);
        log.warn('released a node that left the cluster', { node: name, ...r });
        metrics.reconcileActions.inc({ kind: 'node_released' });
      }
    } catch (e) {
      errors.push(fail('reconcile', 'releasing nodes that left', e));
    }
    return errors;
  }

  async function reconcile(graceMs = o.graceMs): Promise<SweepReport | undefined> {
    const t0 = performance.now();
    const took = () => {
      const s = (performance.now() - t0) / 1000;
      metrics.reconcileDuration.observe(s);
      return Math.round(s * 1000);
    };
    try {
      const report = await withCtx(async (ctx) => {
        await reportNode(ctx.store, ctx.cluster, ctx.node, o.reconcileIntervalMs);
        const portErrors = await ensureNodePorts(ctx);
        const r = await sweep(ctx, { graceMs });
        r.errors.push(...portErrors, ...(await releaseLostNodes(ctx)));
        // After the sweep: what it left of pool ports (nobody's, lagging, vanished) is the pools'.
        await o.pools?.reconcile();
        metrics.attachments.set((await ctx.store.attachments.list({ node: ctx.node })).length);
        return r;
      });
      const counts = sweepActionCounts(report);
      for (const [kind, n] of Object.entries(counts)) if (n > 0) metrics.reconcileActions.inc({ kind }, n);
      if (report.errors.length > 0) metrics.errors.inc({ operation: 'reconcile' }, report.errors.length);
      metrics.reconciles.inc({ result: report.errors.length > 0 ? 'error' : 'ok' });
      const did = Object.values(counts).some((n) => n > 0) || report.errors.length > 0;
      (did ? log.info : log.debug)('reconciled', { ...counts, errors: report.errors, ms: took() });
      return report;
    } catch (e) {
      took();
      metrics.reconciles.inc({ result: 'error' });
      fail('reconcile', 'reconciling the node', e);
      return undefined;
    }
  }

  function retryLater(portId: string): void {
    if (stopped) return;
    pending.add(portId);
    scheduleFlush(RETRY_MS);
  }

  function scheduleFlush(ms: number): void {
    if (stopped || flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      const suspects = pending;
      pending = new Set();
      if (suspects.size > 0) void enqueue(() => replugPass(suspects));
    }, ms);
  }

  function scheduleReconcile(): void {
    if (stopped) return;
    reconcileTimer = setTimeout(() => {
      void enqueue(async () => {
        await replugPass(new Set()); // catches changes whose events were missed
        await reconcile();
      }).finally(scheduleReconcile);
    }, o.reconcileIntervalMs);
  }

  async function runWatch(): Promise<void> {
    let settings: PlugSettings | undefined;
    for (let backoff = 500; !stopped; backoff = Math.min(backoff * 2, 10_000)) {
      try {
        settings ??= await withCtx(async (ctx) => ctx.plug);
        const w = await watchInterfaces(settings, (e) => {
          const id = noteInterface(taps, e);
          if (id) {
            log.info('OVS recreated a pod NIC device', {
              portId: id,
              port: e.port.name,
              ifindex: e.port.ifindex,
            });
            pending.add(id);
            scheduleFlush(settleMs);
          }
        });
        if (stopped) {
          await w.close().catch(() => undefined);
          break;
        }
        watch = w;
        log.info('watching OVSDB', { ovsdb: settings.ovsdbSocket, bridge: settings.bridge });
        backoff = 500;
        // Events may have been missed while not connected: look at every attachment.
        void enqueue(() => replugPass('all'));
        await w.ended;
        if (!stopped) log.warn('OVSDB connection closed; reconnecting');
      } catch (e) {
        if (stopped) break;
        fail('watch', `watching OVSDB${settings ? ` at ${settings.ovsdbSocket}` : ''}`, e);
      }
      watch = undefined;
      await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  }

  return {
    async start() {
      log.info('agent started', {
        node: o.conf.nodeName,
        cluster: o.conf.cluster,
        store: o.conf.store.url,
        reconcileIntervalMs: o.reconcileIntervalMs,
        graceMs: o.graceMs,
      });
      // Before any CNI request: nothing of this node is in flight, so no grace is needed.
      await enqueue(async () => {
        await replugPass('all');
        await reconcile(0);
        await o.pools?.start();
      });
      log.info('start-up reconcile done');
      if (stopped) return;
      if (hasOvs) watchLoop = runWatch();
      scheduleReconcile();
    },
    async runOnce() {
      return enqueue(async () => {
        const replugReport = await replugPass('all');
        const sweepReport = await reconcile();
        const errors = [...replugReport.errors, ...(sweepReport?.errors ?? [])];
        if (!sweepReport) errors.push('the reconcile failed (see the log)');
        return { replug: replugReport, sweep: sweepReport, errors };
      });
    },
    async stop() {
      stopped = true;
      stopping.abort();
      for (const t of [flushTimer, reconcileTimer]) clearTimeout(t);
      await watch?.close().catch(() => undefined);
      await watchLoop;
      await chain;
      await o.pools?.stop();
    },
  };
}
