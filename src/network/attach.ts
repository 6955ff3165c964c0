/**
 * ADD, as the paper's flow: authenticate the cluster, read the pod's network config, get its
 * Neutron port bound to this node, plug it into the pod, record the attachment. A failure at any
 * step undoes the steps before it, newest first.
 */

import { StoreError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { Logger } from '../log/index.ts';
import { parsePlugSpec, plug, unplug } from '../plug/index.ts';
import {
  type AcquireRequest,
  acquirePort,
  fixedIpsOf,
  type PodRef,
  releasePort,
  resolveNicTarget,
} from '../resources/index.ts';
import type { Attachment, AttachmentInput, PodNicConfig } from '../store/index.ts';
import { clusterScope, type NodeContext } from './context.ts';
import { plugSpecOf } from './nic.ts';

export interface AttachRequest {
  containerId: string;
  ifname: string;
  netns: string;
  pod: PodRef;
  podUid?: string | undefined;
  /** The runtime's `ips` capability (plain IPs): used when the pod has no N-Net config. */
  ips?: string[] | undefined;
  /** The runtime's `mac` capability. */
  mac?: string | undefined;
}

type Undo = { what: string; run: () => Promise<unknown> };

async function unwind(undo: Undo[], log: Logger): Promise<void> {
  for (const u of undo.reverse()) {
    try {
      await u.run();
    } catch (e) {
      log.error('undo failed; the node agent will collect what is left', { step: u.what, error: e });
    }
  }
}

export async function attach(ctx: NodeContext, req: AttachRequest): Promise<Attachment> {
  const key = { containerId: req.containerId, ifname: req.ifname };
  const existing = await ctx.store.attachments.get(key);
  if (existing) {
    // A repeated ADD: what is recorded is what is plugged.
    ctx.log.info('attachment exists; returning it', { portId: existing.portId });
    return existing;
  }
  const neutron = await ctx.neutron();
  const config = await ctx.store.podConfigs.get(req.pod);
  const nic = config?.nics.find((n) => n.ifname === req.ifname);
  const undo: Undo[] = [];
  try {
    const port = await acquirePort(neutron, {
      pod: req.pod,
      containerId: req.containerId,
      node: ctx.node,
      mtu: ctx.mtu,
      ...(nic?.reservedPortId
        ? { reservedPortId: nic.reservedPortId }
        : { create: await portToCreate(ctx, req, nic) }),
    });
    ctx.log.info('port acquired', { portId: port.portId, createdByAdd: port.createdByAdd });
    await faultPoint('port');
    undo.push({
      what: 'release port',
      // Past the command's deadline too: the undo gets requests of its own.
      run: () =>
        releasePort(neutron.withSignal(undefined), {
          portId: port.portId,
          createdByAdd: port.createdByAdd,
          containerId: req.containerId,
        }),
    });

    const record: AttachmentInput = {
      ...key,
      cluster: req.pod.cluster,
      namespace: req.pod.namespace,
      pod: req.pod.pod,
      ...(req.podUid ? { podUid: req.podUid } : {}),
      netns: req.netns,
      node: ctx.node,
      portId: port.portId,
      portCreatedByAdd: port.createdByAdd,
      networkId: port.networkId,
      ips: port.ips.map(({ family: _, ...ip }) => ip),
      routes: port.routes,
      mac: port.mac,
      mtu: port.mtu,
      plugDriver: ctx.plug.driver,
      ovsPort: '',
    };
    const plugged = await plug(ctx.plug, parsePlugSpec(plugSpecOf(record)), { log: ctx.log });
    await faultPoint('plug');
    undo.push({
      what: 'unplug',
      run: () => unplug(ctx.plug, { portId: port.portId, netns: req.netns, ifname: req.ifname }),
    });

    const attachment = await ctx.store.attachments.create({
      ...record,
      plugDriver: plugged.driver,
      ovsPort: plugged.ovsPort,
    });
    await faultPoint('record');
    ctx.log.info('attached', {
      portId: port.portId,
      ovsPort: plugged.ovsPort,
      ips: port.ips.map((i) => i.address),
    });
    return attachment;
  } catch (e) {
    await unwind(undo, ctx.log);
    if (e instanceof StoreError && e.reason === 'conflict') {
      throw new StoreError(
        'conflict',
        `another ADD for container ${req.containerId} ${req.ifname} is in progress`,
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * The port ADD makes when none was reserved: the pod's NIC config as kubenetctl resolved it, or
 * (no config) the runtime's `ips`/`mac` capabilities and the defaults, resolved by the same
 * resolver kubenetctl uses.
 */
async function portToCreate(
  ctx: NodeContext,
  req: AttachRequest,
  nic: PodNicConfig | undefined,
): Promise<AcquireRequest['create']> {
  if (nic) return { networkId: nic.networkId, fixedIps: nic.fixedIps, mac: nic.mac };
  const target = await resolveNicTarget(
    await clusterScope(ctx),
    { ips: req.ips ?? [], mac: req.mac },
    {
      who: `pod ${req.pod.namespace}/${req.pod.pod}`,
      ...(ctx.defaultNetwork !== undefined || ctx.defaultSubnet !== undefined
        ? { defaults: { network: ctx.defaultNetwork, subnet: ctx.defaultSubnet } }
        : {}),
    },
  );
  return { networkId: target.network.id, fixedIps: fixedIpsOf(target), mac: target.mac };
}
