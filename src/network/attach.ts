/**
 * ADD, as the paper's flow: authenticate the cluster, read the pod's network config, get its
 * Neutron port bound to this node, plug it into the pod, record the attachment. A failure at any
 * step undoes the steps before it, newest first.
 */

import { InputError, NeutronError, StoreError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { Logger } from '../log/index.ts';
import type { NeutronClient } from '../neutron/index.ts';
import { assertNetns, parsePlugSpec, plug, unplug } from '../plug/index.ts';
import {
  type AcquireRequest,
  acquirePort,
  addressing,
  fixedIpsOf,
  type NodeAccess,
  type PodRef,
  releasePort,
  resolveNicTarget,
} from '../resources/index.ts';
import type { Attachment, AttachmentInput, PodNicConfig } from '../store/index.ts';
import { clusterScope, type NodeContext } from './context.ts';
import { plugSpecOf } from './nic.ts';
import { ensureNodePort, nodeAccess, serviceCidrs, serviceOverlap, serviceRoutes } from './node-port.ts';

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

/** ADD, one at a time per (container, ifname): a second one waits, then finds the first's record. */
export function attach(ctx: NodeContext, req: AttachRequest): Promise<Attachment> {
  return ctx.locks.run({ containerId: req.containerId, ifname: req.ifname }, () => attachNow(ctx, req));
}

async function attachNow(ctx: NodeContext, req: AttachRequest): Promise<Attachment> {
  const key = { containerId: req.containerId, ifname: req.ifname };
  const existing = await ctx.store.attachments.get(key);
  if (existing) {
    // A repeated ADD: what is recorded is what is plugged.
    ctx.log.info('attachment exists; returning it', { portId: existing.portId });
    return existing;
  }
  assertNetns(req.netns); // before anything is asked of Neutron
  const neutron = await ctx.neutron();
  const [config, access] = await Promise.all([ctx.store.podConfigs.get(req.pod), nodeAccess(ctx, neutron)]);
  const nic = config?.nics.find((n) => n.ifname === req.ifname);
  const undo: Undo[] = [];
  try {
    const { port, createdByAdd } = await acquirePort(neutron, {
      pod: req.pod,
      containerId: req.containerId,
      node: ctx.node,
      securityGroupIds: await podSecurityGroups(ctx, neutron, access),
      ...(nic?.reservedPortId
        ? { reservedPortId: nic.reservedPortId }
        : { create: await portToCreate(ctx, req, nic) }),
    });
    ctx.log.info('port acquired', { portId: port.id, createdByAdd });
    await faultPoint('port');
    undo.push({
      what: 'release port',
      // Past the command's deadline too: the undo gets requests of its own.
      run: () =>
        releasePort(neutron.withSignal(undefined), {
          portId: port.id,
          createdByAdd,
          containerId: req.containerId,
        }),
    });

    // Service traffic goes through this node's own port on the pod's network (kube-proxy's DNAT).
    const [nodePort, cidrs] = await Promise.all([ensureNodePort(ctx, port.networkId), serviceCidrs(ctx)]);
    const nicAddr = await addressing(neutron, port, {
      mtu: ctx.mtu,
      extraRoutes: serviceRoutes(cidrs, nodePort),
    });
    const overlap = serviceOverlap(cidrs, nicAddr.ips);
    if (overlap)
      throw new InputError('invalid-config', `${overlap}; choose a Service CIDR outside the pod networks`);

    const record: AttachmentInput = {
      ...key,
      cluster: req.pod.cluster,
      namespace: req.pod.namespace,
      pod: req.pod.pod,
      ...(req.podUid ? { podUid: req.podUid } : {}),
      netns: req.netns,
      node: ctx.node,
      portId: port.id,
      portCreatedByAdd: createdByAdd,
      networkId: port.networkId,
      ips: nicAddr.ips.map(({ family: _, ...ip }) => ip),
      routes: nicAddr.routes,
      mac: nicAddr.mac,
      mtu: nicAddr.mtu,
      plugDriver: ctx.plug.driver,
      ovsPort: '',
    };
    const plugged = await plug(ctx.plug, parsePlugSpec(plugSpecOf(record)), { log: ctx.log });
    await faultPoint('plug');
    undo.push({
      what: 'unplug',
      run: () => unplug(ctx.plug, { portId: port.id, netns: req.netns, ifname: req.ifname }),
    });

    const attachment = await ctx.store.attachments.create({
      ...record,
      plugDriver: plugged.driver,
      ovsPort: plugged.ovsPort,
    });
    await faultPoint('record');
    ctx.log.info('attached', {
      portId: port.id,
      ovsPort: plugged.ovsPort,
      ips: record.ips.map((i) => i.address),
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
 * The security groups a pod port carries: the cluster's default set (else the project's
 * `default` group), and always the cluster's node-access group, so that the node's probes and
 * Service traffic reach the pod whatever its own groups admit.
 */
async function podSecurityGroups(
  ctx: NodeContext,
  neutron: NeutronClient,
  access: NodeAccess,
): Promise<string[]> {
  const cluster = await ctx.store.clusters.get(ctx.cluster);
  const own = cluster?.podSecurityGroupIds ?? [await projectDefaultGroup(neutron)];
  return [...new Set([...own, access.securityGroupId])];
}

async function projectDefaultGroup(neutron: NeutronClient): Promise<string> {
  const projectId = (await neutron.session.auth()).project?.id;
  const found = await neutron.securityGroups.list({ name: 'default', ...(projectId ? { projectId } : {}) });
  if (!found[0])
    throw new NeutronError('not-found', `the project ${projectId ?? ''} has no "default" security group`);
  return found[0].id;
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
