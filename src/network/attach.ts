/**
 * ADD, as the paper's flow: authenticate the cluster, read the pod's network config, get its
 * Neutron port bound to this node, plug it into the pod, record the attachment. A failure at any
 * step undoes the steps before it, newest first.
 */
import { parsePlugSpec, plug, unplug } from '../deploy/index.ts';
import { StoreError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import { acquirePort, findNetwork, findSubnet, type PodRef, releasePort } from '../resources/index.ts';
import type { Attachment } from '../store/index.ts';
import type { NodeContext } from './context.ts';

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

// ---- TEST-ONLY fault injection (never set in production). NNET_FAULT_KILL_AFTER names a step of
// ADD after which the process SIGKILLs itself, as a crash there would, so that tests can prove DEL
// and GC leave nothing behind (test/integration/faults.test.ts). This is the only place it is read.
//   port      the Neutron port is created / bound
//   ovs-port  the OVS port exists (inside deploy's plug: failAfter + failBy 'sigkill')
//   move      the NIC is in the pod netns (likewise)
//   plug      the NIC is configured, before the store write
//   record    the attachment is recorded, before the result is printed
const FAULT_STEPS = ['port', 'ovs-port', 'move', 'plug', 'record'] as const;
type FaultStep = (typeof FAULT_STEPS)[number];
function faultKillAfter(): FaultStep | undefined {
  const v = process.env.NNET_FAULT_KILL_AFTER;
  return FAULT_STEPS.find((s) => s === v);
}
function killIfFault(step: FaultStep): void {
  if (faultKillAfter() === step) process.kill(process.pid, 'SIGKILL');
}
// ---- end of fault injection

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
  const undo: Undo[] = [];
  try {
    let networkId = config?.networkId;
    let subnetId = config?.subnetId;
    let ips = config?.ip ? [config.ip] : undefined;
    let mac = config?.mac;
    if (!config) {
      // No N-Net config: the runtime's ips/mac capabilities, on the default network.
      ips = req.ips?.length ? req.ips : undefined;
      mac = req.mac;
      const cluster = await ctx.store.clusters.get(ctx.cluster);
      networkId = ctx.defaultNetwork
        ? (await findNetwork(neutron, ctx.defaultNetwork)).id
        : cluster?.defaultNetworkId;
      if (!ips) {
        subnetId = ctx.defaultSubnet
          ? (await findSubnet(neutron, ctx.defaultSubnet, networkId)).id
          : ctx.defaultNetwork
            ? undefined
            : cluster?.defaultSubnetId;
      }
    }
    const port = await acquirePort(neutron, {
      pod: req.pod,
      containerId: req.containerId,
      node: ctx.node,
      reservedPortId: config?.reservedPortId,
      networkId,
      subnetId,
      ips,
      mac,
      mtu: ctx.mtu,
    });
    ctx.log.info('port acquired', { portId: port.portId, createdByAdd: port.createdByAdd });
    killIfFault('port');
    undo.push({
      what: 'release port',
      run: () =>
        releasePort(neutron, {
          portId: port.portId,
          createdByAdd: port.createdByAdd,
          containerId: req.containerId,
        }),
    });

    const spec = parsePlugSpec({
      portId: port.portId,
      mac: port.mac,
      ips: port.ips.map((i) => ({ address: i.address, prefixLength: i.prefixLength })),
      gateway: port.gateway,
      mtu: port.mtu,
      netns: req.netns,
      ifname: req.ifname,
      podNamespace: req.pod.namespace,
      podName: req.pod.pod,
      containerId: req.containerId,
    });
    const fault = faultKillAfter();
    if (fault === 'ovs-port' || fault === 'move') {
      spec.failAfter = fault;
      spec.failBy = 'sigkill';
    }
    const plugged = await plug(ctx.deploy, spec, { log: ctx.log });
    killIfFault('plug');
    undo.push({
      what: 'unplug',
      run: () => unplug(ctx.deploy, { portId: port.portId, netns: req.netns, ifname: req.ifname }),
    });

    const attachment = await ctx.store.attachments.create({
      ...key,
      cluster: req.pod.cluster,
      namespace: req.pod.namespace,
      pod: req.pod.pod,
      ...(req.podUid ? { podUid: req.podUid } : {}),
      netns: req.netns,
      node: ctx.node,
      portId: port.portId,
      portCreatedByAdd: port.createdByAdd,
      ips: port.ips,
      mac: plugged.mac,
      mtu: plugged.mtu,
      plugDriver: plugged.driver,
      ovsPort: plugged.ovsPort,
    });
    killIfFault('record');
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
