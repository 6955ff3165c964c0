/**
 * ADD, as the paper's flow: authenticate the cluster, read the pod's network config, get its
 * Neutron port bound to this node — a warm one from the node's pool, the reservation (bound while
 * its addressing is looked up, before the NIC is plugged), or one made now — plug it into the pod, wait until OVN passes its traffic,
 * record the attachment. A failure at any step undoes the steps before it, newest first.
 */

import { InputError, NeutronError, StoreError } from '../errors/index.ts';
import { faultPoint } from '../faults/index.ts';
import type { Logger } from '../log/index.ts';
import type { NeutronClient, Port } from '../neutron/index.ts';
import { assertNetns, parsePlugSpec, plug, unplug, waitOvnClaimed } from '../plug/index.ts';
import {
  type AcquireRequest,
  acquirePort,
  bindReserved,
  clusterNetworkIds,
  createPodPort,
  fixedIpsOf,
  isUuid,
  type NicAddressing,
  type NodeAccess,
  nicAddressing,
  type PodRef,
  parseIp,
  portGroups,
  releasePort,
  reservedPort,
  resolveNicTarget,
} from '../resources/index.ts';
import type { Attachment, AttachmentInput, PodNicConfig } from '../store/index.ts';
import { clusterScope, type NodeContext } from './context.ts';
import { isNested, joinTrunk, leaveTrunk, subportReady } from './nested.ts';
import { plugSpecOf } from './nic.ts';
import { ensureNodePort, nodeAccess, serviceCidrs, serviceOverlap, serviceRoutes } from './node-port.ts';
import type { PooledPort, PoolKey } from './pools.ts';

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
  /** An extra NIC of the pod's config, made by the ADD of this ifname (src/network/pod.ts). */
  via?: string | undefined;
}

type Undo = { what: string; run: () => Promise<unknown> };

/** Pauses between the tries of one undo step: a transient OVSDB or Neutron failure gets two more. */
const UNDO_RETRY_MS = [500, 2000];

async function unwind(undo: Undo[], log: Logger): Promise<void> {
  for (const u of undo.reverse()) {
    for (let attempt = 0; ; attempt++) {
      try {
        await u.run();
        break;
      } catch (e) {
        const pause = UNDO_RETRY_MS[attempt];
        if (pause === undefined) {
          log.error('undo failed; the node agent will collect what is left', { step: u.what, error: e });
          break;
        }
        log.warn('undo step failed; trying again', { step: u.what, error: e, inMs: pause });
        await new Promise((r) => setTimeout(r, pause));
      }
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
    if (existing.via && existing.via !== req.via)
      throw new InputError(
        'invalid-config',
        `interface ${req.ifname} of container ${req.containerId} is an N-Net NIC made with ${existing.via}; give the other network attachment another interface name`,
      );
    // A repeated ADD: what is recorded is what is plugged.
    ctx.log.info('attachment exists; returning it', { portId: existing.portId });
    return existing;
  }
  assertNetns(req.netns); // before anything is asked of Neutron
  const neutron = await ctx.neutron();
  const [config, access] = await Promise.all([ctx.store.podConfigs.get(req.pod), nodeAccess(ctx, neutron)]);
  const nic = config?.nics.find((n) => n.ifname === req.ifname);
  // The config's extra NICs are made by the ADD of its first one: a runtime naming one itself
  // (a Multus attachment on net1, say) would make a second NIC of the same name.
  if (nic && config && !req.via && config.nics[0]!.ifname !== req.ifname)
    throw new InputError(
      'invalid-config',
      `interface ${req.ifname} of pod ${req.pod.namespace}/${req.pod.pod} is one of its N-Net NICs, made with ${config.nics[0]!.ifname}; give the other network attachment another interface name`,
    );
  const allowedNetworkIds = await clusterNetworkIds(await clusterScope(ctx));
  if (nic) trustNic(nic, req.pod, allowedNetworkIds);
  const groups = await podSecurityGroups(ctx, neutron, access, nic);
  const undo: Undo[] = [];
  const nested = isNested(ctx);
  try {
    const got = nested
      ? await getSubport(ctx, neutron, req, nic, { groups, allowedNetworkIds })
      : await getPort(ctx, neutron, req, nic, { groups, allowedNetworkIds });
    const { port } = got;
    ctx.log.info('port acquired', { portId: port.id, source: got.source });
    undo.push({ what: 'release port', run: got.release });
    await faultPoint('port');

    // Service traffic goes through this node's own port on the pod's network (kube-proxy's DNAT).
    const [nodePort, cidrs] = await Promise.all([ensureNodePort(ctx, port.networkId), serviceCidrs(ctx)]);
    // A pod's second NIC (net1, net2, …, as Multus names them) routes its own subnets only.
    const primary = !isSecondaryIfname(req.ifname);
    const nicAddr = await addressingOf(ctx, neutron, got, {
      defaultRoutes: primary,
      extraRoutes: primary && nodePort ? serviceRoutes(cidrs, nodePort) : [],
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
      portCreatedByAdd: got.createdByAdd,
      networkId: port.networkId,
      ips: nicAddr.ips.map(({ family: _, ...ip }) => ip),
      routes: nicAddr.routes,
      mac: nicAddr.mac,
      mtu: nicAddr.mtu,
      plugDriver: ctx.plug.driver,
      ovsPort: '',
      ...(got.pooled ? { pool: got.pooled.key } : {}),
      ...(req.via ? { via: req.via } : {}),
      ...(got.subport ? { subport: got.subport } : {}),
    };
    // A reservation's binding must commit before the NIC appears on br-int: ML2/OVN blocks a port
    // that gets its host on the 'up' OVN reports next, and a claim made before the binding has
    // reported 'up' already, so the port would stay DOWN in Neutron for good.
    await got.binding;
    const plugged = await plug(ctx.plug, parsePlugSpec(plugSpecOf(record)), { log: ctx.log });
    await faultPoint('plug');
    undo.push({
      what: 'unplug',
      run: () =>
        unplug(ctx.plug, { portId: port.id, netns: req.netns, ifname: req.ifname }, { log: ctx.log }),
    });
    // The answer waits for the data path (OVN claimed the port) and a reservation's binding, not
    // for Neutron to call the port ACTIVE.
    await Promise.all([
      // A pool's subport was ACTIVE before the pod asked.
      got.pooled ? undefined : nested ? subportReady(ctx, neutron, port.id) : dataPathReady(ctx, port.id),
      got.binding,
    ]);

    const attachment = await ctx.store.attachments.create({
      ...record,
      plugDriver: plugged.driver,
      ovsPort: plugged.ovsPort,
    });
    await faultPoint('record');
    if (got.pooled) ctx.pools?.held(got.pooled, { pod: req.pod, containerId: req.containerId });
    ctx.log.info('attached', {
      portId: port.id,
      ovsPort: plugged.ovsPort,
      ips: record.ips.map((i) => i.address),
      source: got.source,
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

/** The pod's port, where it came from, and how to give it up if the ADD fails. */
interface GotPort {
  port: Port;
  createdByAdd: boolean;
  source: 'pool' | 'reserved' | 'created';
  pooled?: PooledPort;
  /** A reservation's binding PUT, running while the NIC's addressing is worked out. */
  binding?: Promise<unknown>;
  /** Nested mode: the port rides the node's trunk. */
  subport?: { trunkId: string; vlan: number };
  release(): Promise<void>;
}

/**
 * The reserved port (checked, then bound while its addressing is looked up), a ready port from the node's
 * pool when the pod asks for no static IP or MAC, or else a port made now.
 */
async function getPort(
  ctx: NodeContext,
  neutron: NeutronClient,
  req: AttachRequest,
  nic: PodNicConfig | undefined,
  { groups, allowedNetworkIds }: { groups: string[]; allowedNetworkIds: ReadonlySet<string> },
): Promise<GotPort> {
  // Undos run past the command's deadline: they get requests of their own.
  const undoClient = () => neutron.withSignal(undefined);
  if (nic?.reservedPortId) {
    const reserved = await reservedPort(neutron, {
      pod: req.pod,
      containerId: req.containerId,
      reservedPortId: nic.reservedPortId,
      allowedNetworkIds,
    });
    const binding = bindReserved(neutron, reserved, {
      containerId: req.containerId,
      node: ctx.node,
      securityGroupIds: groups,
    });
    binding.catch(() => undefined); // awaited before the plug
    return {
      port: reserved,
      createdByAdd: false,
      source: 'reserved',
      binding,
      release: async () => {
        await binding.catch(() => undefined);
        await releasePort(undoClient(), {
          portId: reserved.id,
          createdByAdd: false,
          containerId: req.containerId,
        });
      },
    };
  }
  const wanted = await portToCreate(ctx, req, nic);
  const pooled = isPoolable(wanted)
    ? ctx.pools?.take({
        networkId: wanted.networkId,
        subnetIds: wanted.fixedIps.map((f) => f.subnetId),
        securityGroupIds: groups,
      })
    : undefined;
  if (pooled)
    return {
      port: pooled.port,
      createdByAdd: true,
      source: 'pool',
      pooled,
      release: async () => ctx.pools?.lost(pooled, req.netns),
    };
  const { port, createdByAdd } = await acquirePort(neutron, {
    pod: req.pod,
    containerId: req.containerId,
    node: ctx.node,
    allowedNetworkIds,
    securityGroupIds: groups,
    create: wanted,
  });
  return {
    port,
    createdByAdd,
    source: 'created',
    release: () => releasePort(undoClient(), { portId: port.id, createdByAdd, containerId: req.containerId }),
  };
}

/**
 * Nested mode: a ready subport from the node's pool (on the trunk already, with its VLAN) when
 * the pod asks for no static IP or MAC, or else the reserved port or one made now (unbound),
 * put on the node's trunk.
 */
async function getSubport(
  ctx: NodeContext,
  neutron: NeutronClient,
  req: AttachRequest,
  nic: PodNicConfig | undefined,
  { groups, allowedNetworkIds }: { groups: string[]; allowedNetworkIds: ReadonlySet<string> },
): Promise<GotPort> {
  const undoClient = () => neutron.withSignal(undefined);
  const createdByAdd = !nic?.reservedPortId;
  const wanted = createdByAdd ? await portToCreate(ctx, req, nic) : undefined;
  const pooled =
    wanted && isPoolable(wanted)
      ? ctx.pools?.take({
          networkId: wanted.networkId,
          subnetIds: wanted.fixedIps.map((f) => f.subnetId),
          securityGroupIds: groups,
        })
      : undefined;
  if (pooled?.subport)
    return {
      port: pooled.port,
      createdByAdd: true,
      source: 'pool',
      pooled,
      subport: pooled.subport,
      release: async () => ctx.pools?.lost(pooled, req.netns),
    };
  if (pooled) ctx.pools?.lost(pooled); // never: a nested node's pools hold subports only
  const port = nic?.reservedPortId
    ? await reservedPort(neutron, {
        pod: req.pod,
        containerId: req.containerId,
        reservedPortId: nic.reservedPortId,
        allowedNetworkIds,
      })
    : await createPodPort(neutron, {
        pod: req.pod,
        create: wanted!,
        securityGroupIds: groups,
        containerId: req.containerId,
        madeOn: ctx.node,
      });
  const plainRelease = () =>
    releasePort(undoClient(), { portId: port.id, createdByAdd, containerId: req.containerId });
  await faultPoint('nested-port');
  const sub = await joinTrunk(ctx, neutron, port, {
    containerId: req.containerId,
    securityGroupIds: groups,
  }).catch(async (e: unknown) => {
    await plainRelease().catch(() => undefined);
    throw e;
  });
  return {
    port: sub.port,
    createdByAdd,
    source: createdByAdd ? 'created' : 'reserved',
    subport: { trunkId: sub.trunkId, vlan: sub.vlan },
    release: () =>
      leaveTrunk(undoClient(), {
        trunkId: sub.trunkId,
        portId: port.id,
        createdByAdd,
        containerId: req.containerId,
      }),
  };
}

/**
 * The pool of the node's pods that ask for nothing (the default network and subnets, the
 * default security groups): the one the agent keeps filled before any pod asks.
 */
export async function defaultPoolKey(ctx: NodeContext): Promise<PoolKey> {
  const neutron = await ctx.neutron();
  const groups = await podSecurityGroups(ctx, neutron, await nodeAccess(ctx, neutron), undefined);
  const pod = { cluster: ctx.cluster, namespace: 'default', pod: '(the default pool)' };
  const wanted = await portToCreate(ctx, { containerId: '', ifname: '', netns: '', pod }, undefined);
  return {
    networkId: wanted.networkId,
    subnetIds: wanted.fixedIps.map((f) => f.subnetId),
    securityGroupIds: groups,
  };
}

/** A pool port fits a request that pins no IP and no MAC. */
function isPoolable(w: NonNullable<AcquireRequest['create']>): boolean {
  return w.mac === undefined && w.fixedIps.every((f) => f.ip === undefined);
}

const FACTS_TTL_MS = 60_000;

/** The NIC's addressing: a pool port's from its pool, any other's from (remembered) Neutron facts. */
/** The interfaces a pod's extra NICs get (`net1`, `net2`, …): no default route, no Service routes. */
function isSecondaryIfname(ifname: string): boolean {
  return /^net[0-9]+$/.test(ifname);
}

async function addressingOf(
  ctx: NodeContext,
  neutron: NeutronClient,
  got: GotPort,
  routing: { defaultRoutes: boolean; extraRoutes: { dst: string; gateway: string }[] },
): Promise<NicAddressing> {
  const { port } = got;
  if (got.pooled)
    return nicAddressing({ port, subnets: got.pooled.subnets, mtu: ctx.mtu ?? got.pooled.mtu, ...routing });
  const ids = [...new Set(port.fixedIps.map((f) => f.subnetId))].sort();
  if (ids.length === 0) throw new NeutronError('bad-reply', `port ${port.id} has no IP address`);
  const [subnets, mtu] = await Promise.all([
    ctx.memo(`subnets ${ids.join(',')}`, FACTS_TTL_MS, () => neutron.subnets.list({ id: ids })),
    ctx.mtu ??
      ctx.memo(
        `mtu ${port.networkId}`,
        FACTS_TTL_MS,
        async () => (await neutron.networks.get(port.networkId)).mtu,
      ),
  ]);
  for (const id of ids)
    if (!subnets.some((s) => s.id === id))
      throw new NeutronError('not-found', `subnet ${id} of port ${port.id} not found`, { status: 404 });
  return nicAddressing({ port, subnets, mtu: mtu ?? 1500, ...routing });
}

/** How long an ADD waits for ovn-controller to claim its port before it answers anyway. */
const OVN_CLAIM_WAIT_MS = 20_000;

async function dataPathReady(ctx: NodeContext, portId: string): Promise<void> {
  const r = await waitOvnClaimed(ctx.plug, portId, OVN_CLAIM_WAIT_MS);
  if (r === 'timeout')
    ctx.log.warn('ovn-controller has not claimed the port yet; answering anyway', {
      portId,
      waitedMs: OVN_CLAIM_WAIT_MS,
    });
}

/**
 * A pod's NIC config comes from the shared store, which others can write: before it steers
 * anything, its ids must be Neutron ids and its network one of the cluster's. Else the ADD is
 * refused (code 115), naming what was refused, and nothing is touched.
 */
function trustNic(nic: PodNicConfig, pod: PodRef, allowed: ReadonlySet<string>): void {
  const who = `the store's network config of pod ${pod.namespace}/${pod.pod}`;
  const ids = [
    nic.networkId,
    ...nic.fixedIps.map((f) => f.subnetId),
    ...(nic.reservedPortId ? [nic.reservedPortId] : []),
    ...(nic.securityGroupIds ?? []),
  ];
  const bad = ids.find((id) => !isUuid(id));
  if (bad !== undefined)
    throw new NeutronError('refused', `${who} names "${bad}", which is not a Neutron id; refusing it`);
  for (const f of nic.fixedIps)
    if (f.ip !== undefined && !parseIp(f.ip).ok)
      throw new NeutronError('refused', `${who} asks for "${f.ip}", which is not an IP address; refusing it`);
  if (!allowed.has(nic.networkId))
    throw new NeutronError(
      'refused',
      `${who} names network ${nic.networkId}, which is not one of cluster ${pod.cluster}'s networks (managed, default or allowed); refusing it`,
    );
}

/**
 * The security groups a pod port carries: the pod's own (kubenetctl resolved them), else the
 * cluster's default set, else the project's `default` group; and always the cluster's
 * node-access group, so that the node's probes and Service traffic reach the pod whatever its
 * own groups admit.
 */
async function podSecurityGroups(
  ctx: NodeContext,
  neutron: NeutronClient,
  access: NodeAccess,
  nic: PodNicConfig | undefined,
): Promise<string[]> {
  const cluster = nic?.securityGroupIds ? undefined : await ctx.store.clusters.get(ctx.cluster);
  const own = nic?.securityGroupIds ??
    cluster?.podSecurityGroupIds ?? [await projectDefaultGroup(ctx, neutron)];
  return portGroups(own, access.securityGroupId);
}

async function projectDefaultGroup(ctx: NodeContext, neutron: NeutronClient): Promise<string> {
  const projectId = (await neutron.session.auth()).project?.id;
  return ctx.memo(`default group ${projectId ?? ''}`, FACTS_TTL_MS, async () => {
    const found = await neutron.securityGroups.list({ name: 'default', ...(projectId ? { projectId } : {}) });
    if (!found[0])
      throw new NeutronError('not-found', `the project ${projectId ?? ''} has no "default" security group`);
    return found[0].id;
  });
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
): Promise<NonNullable<AcquireRequest['create']>> {
  if (nic) return { networkId: nic.networkId, fixedIps: nic.fixedIps, mac: nic.mac };
  const resolve = async () => {
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
  };
  // The default target (no IP, no MAC asked) is the same for every such pod: looked up once a minute.
  if ((req.ips ?? []).length > 0 || req.mac !== undefined) return resolve();
  return ctx.memo('default target', FACTS_TTL_MS, resolve);
}
