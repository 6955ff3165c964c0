/**
 * The one sweep behind CNI GC, `kubenetctl gc` and the node agent's reconcile: release every
 * attachment of this node that is no longer wanted, then whatever N-Net left with no record
 * (OVS ports, Neutron ports bound to this node), so nothing leaks after crashes.
 */

import { NeutronError } from '../errors/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import { listHostPorts, listPorts, NNET_IDS, netnsExists, unplug, unplugHostNic } from '../plug/index.ts';
import {
  DEVICE_OWNER,
  isPoolPort,
  isReserved,
  nodePorts,
  releaseNodePort,
  releasePort,
} from '../resources/index.ts';
import type { Attachment } from '../store/index.ts';
import type { NodeContext } from './context.ts';
import { detach } from './detach.ts';
import { isNested, sweepSubports } from './nested.ts';

export interface SweepOptions {
  /**
   * Which attachments are still wanted. CNI GC passes the runtime's valid list; without it an
   * attachment is wanted while its pod's netns exists (the agent's rule).
   */
  wanted?: (a: { containerId: string; ifname: string; via?: string | undefined }) => boolean;
  /** Leftovers touched more recently than this may belong to an ADD still running. Default 60 s. */
  graceMs?: number;
  now?: () => number;
}

export interface SweepReport {
  attachmentsReleased: string[];
  ovsPortsRemoved: string[];
  neutronPortsReleased: string[];
  errors: string[];
}

export async function sweep(ctx: NodeContext, opts: SweepOptions = {}): Promise<SweepReport> {
  const report: SweepReport = {
    attachmentsReleased: [],
    ovsPortsRemoved: [],
    neutronPortsReleased: [],
    errors: [],
  };
  const graceMs = opts.graceMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const wanted =
    opts.wanted ??
    ((a: { containerId: string; ifname: string } & Partial<Attachment>) => !!a.netns && netnsExists(a.netns));
  const note = (what: string, e: unknown) => {
    report.errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    ctx.log.warn('sweep step failed', { what, error: e });
  };

  const kept = new Set<string>();
  for (const a of await ctx.store.attachments.list({ node: ctx.node })) {
    if (wanted(a)) {
      kept.add(a.portId);
      continue;
    }
    try {
      await detach(ctx, { containerId: a.containerId, ifname: a.ifname });
      report.attachmentsReleased.push(`${a.namespace}/${a.pod} ${a.containerId.slice(0, 12)} ${a.ifname}`);
    } catch (e) {
      kept.add(a.portId);
      note(`releasing ${a.containerId} ${a.ifname}`, e);
    }
  }

  // Leftovers: listed first, then the records read again, so that an ADD that finished meanwhile
  // is in `kept` and one still running holds its lock (busy) when its port is looked at.
  const neutron = await ctx.neutron();
  const [ovsPorts, bound] = await Promise.all([
    listPorts(ctx.plug),
    neutron.ports.list({ hostId: ctx.node, deviceOwner: DEVICE_OWNER }),
  ]);
  for (const a of await ctx.store.attachments.list({ node: ctx.node })) kept.add(a.portId);

  // OVS ports N-Net made whose attachment is gone.
  for (const p of ovsPorts) {
    if (!p.ifaceId || kept.has(p.ifaceId)) continue;
    const owner = {
      containerId: p.externalIds[NNET_IDS.containerId] ?? '',
      ifname: p.externalIds[NNET_IDS.ifname] ?? '',
    };
    if (owner.containerId && ctx.locks.busy(owner.containerId)) continue; // a command in flight
    if (opts.wanted && owner.containerId && opts.wanted(owner)) continue; // an ADD in flight
    try {
      const port = await neutron.ports.get(p.ifaceId).catch((e: unknown) => {
        if (e instanceof NeutronError && e.reason === 'not-found') return undefined;
        throw e;
      });
      if (port && Date.parse(port.updatedAt ?? '') > now() - graceMs) continue;
      await unplug(ctx.plug, { portId: p.ifaceId }, { log: ctx.log });
      report.ovsPortsRemoved.push(p.name);
      if (port && port.deviceOwner === DEVICE_OWNER) {
        await releasePort(neutron, {
          portId: port.id,
          createdByAdd: !isReserved(port),
          containerId: port.deviceId,
        });
        report.neutronPortsReleased.push(port.id);
      }
    } catch (e) {
      note(`removing OVS port ${p.name}`, e);
    }
  }

  // Neutron ports bound to this node by N-Net with no attachment (an ADD killed before its record).
  for (const port of bound) {
    if (kept.has(port.id) || report.neutronPortsReleased.includes(port.id)) continue;
    if (isPoolPort(port)) continue; // the pools' own reconcile holds or releases these

    if (port.deviceId && ctx.locks.busy(port.deviceId)) continue;
    if (opts.wanted && port.deviceId && opts.wanted({ containerId: port.deviceId, ifname: '' })) continue;
    if (Date.parse(port.updatedAt ?? '') > now() - graceMs) continue;
    try {
      await releasePort(neutron, {
        portId: port.id,
        createdByAdd: !isReserved(port),
        containerId: port.deviceId,
      });
      report.neutronPortsReleased.push(port.id);
    } catch (e) {
      note(`releasing Neutron port ${port.id}`, e);
    }
  }
  if (isNested(ctx)) {
    // Subports of the node's trunk no attachment holds (an ADD killed between trunk and record).
    try {
      const left = await sweepSubports(ctx, neutron, kept, { graceMs, now, wanted: opts.wanted });
      report.neutronPortsReleased.push(...left.removed);
      report.errors.push(...left.errors);
    } catch (e) {
      note("looking at the node trunk's subports", e);
    }
  }
  await sweepNodePorts(ctx, neutron, { graceMs, now, report, note });
  ctx.log.info('sweep done', { ...report });
  return report;
}

/**
 * The node's own ports that its record does not hold: OVS ports of a port released meanwhile, and
 * Neutron ports an ADD made and then lost to another one (or crashed before recording).
 */
async function sweepNodePorts(
  ctx: NodeContext,
  neutron: NeutronClient,
  o: { graceMs: number; now: () => number; report: SweepReport; note: (what: string, e: unknown) => void },
): Promise<void> {
  const recorded = new Set(
    ((await ctx.store.nodes.get({ cluster: ctx.cluster, name: ctx.node }))?.ports ?? []).map((p) => p.portId),
  );
  for (const p of await listHostPorts(ctx.plug)) {
    if (!p.ifaceId || recorded.has(p.ifaceId)) continue;
    try {
      await unplugHostNic(ctx.plug, p.ifaceId);
      o.report.ovsPortsRemoved.push(p.name);
    } catch (e) {
      o.note(`removing the unrecorded node port ${p.name}`, e);
    }
  }
  const access = (await ctx.store.clusters.get(ctx.cluster))?.nodeAccess;
  for (const port of await nodePorts(neutron, ctx.cluster, ctx.node)) {
    if (recorded.has(port.id) || Date.parse(port.updatedAt ?? '') > o.now() - o.graceMs) continue;
    try {
      await releaseNodePort(neutron, port, access);
      o.report.neutronPortsReleased.push(port.id);
    } catch (e) {
      o.note(`releasing the unrecorded node port ${port.id}`, e);
    }
  }
}
