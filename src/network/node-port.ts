/**
 * A node's own ports on the pod networks (src/resources/node-ports.ts for the Neutron side): made
 * on the first ADD that needs one (and by the agent for every network of the cluster), recorded in
 * the store's node record, plugged as a NIC that stays in the node's netns (src/plug/host.ts), with
 * routes to the network's other subnets and the node's masquerade table (src/plug/netfilter.ts).
 * A VM node's (nested mode) port is a subport of its trunk, with a VLAN of its own like a pod's.
 * The store's compare-and-swap decides which port a node keeps when two ADDs race to make one.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, NeutronError, PlugError } from '../errors/index.ts';
import type { NeutronClient, Port, Subnet } from '../neutron/index.ts';
import {
  deviceNames,
  ensureNodeRouting,
  ensurePolicyRoutes,
  hostNetns,
  hostNicPresent,
  listHostAddresses,
  plugHostNic,
  readNestedNic,
  usesKernelVlan,
} from '../plug/index.ts';
import {
  admitNodePort,
  canonicalCidr,
  cidrsOverlap,
  clusterNodePorts,
  completeNodeAccess,
  containsIp,
  createNodeAccess,
  createNodePort,
  deleteNodeAccess,
  findOrCreateNodeAccess,
  ipFamily,
  type NodeAccess,
  nodeOfPort,
  nodePorts,
  parseCidr,
  releaseNodePort,
  removeSubport,
} from '../resources/index.ts';
import { DEFAULT_SERVICE_CIDRS, type NodePort } from '../store/index.ts';
import type { NodeContext } from './context.ts';
import { isNested, nodePortOnTrunk } from './nested.ts';

const nodeKey = (ctx: NodeContext) => ({ cluster: ctx.cluster, name: ctx.node });

/** The Service CIDRs in force: the node's config overrides the cluster's setting. */
export async function serviceCidrs(ctx: NodeContext): Promise<string[]> {
  if (ctx.serviceCidrs?.length) return ctx.serviceCidrs;
  return (await ctx.store.clusters.get(ctx.cluster))?.serviceCidrs ?? [...DEFAULT_SERVICE_CIDRS];
}

/**
 * The cluster's node-access objects: as recorded in the cluster record, else made by the one
 * process that takes the record's lease (a compare-and-swap) while the others wait for it, so
 * that every pod carries the same group and racing ADDs do not each make one. A cluster with no
 * record (its credentials are in the CNI config) finds them by their Neutron tags.
 */
export async function nodeAccess(ctx: NodeContext, neutron: NeutronClient): Promise<NodeAccess> {
  const me = `${ctx.node}:${process.pid}:${randomUUID()}`;
  const deadline = Date.now() + NODE_ACCESS_WAIT_MS;
  for (;;) {
    const cluster = await ctx.store.clusters.get(ctx.cluster);
    if (!cluster) return findOrCreateNodeAccess(neutron, ctx.cluster);
    const recorded = completeNodeAccess(cluster.nodeAccess);
    if (recorded) return recorded;
    const held = cluster.nodeAccessLease && Date.parse(cluster.nodeAccessLease.until) > Date.now();
    if (!held) {
      const until = new Date(Date.now() + NODE_ACCESS_LEASE_MS).toISOString();
      const taken = await ctx.store.clusters.update(ctx.cluster, (cur) => {
        if (!cur || completeNodeAccess(cur.nodeAccess)) return undefined;
        if (cur.nodeAccessLease && Date.parse(cur.nodeAccessLease.until) > Date.now()) return undefined;
        const { createdAt: _, ...input } = cur;
        return { ...input, nodeAccessLease: { holder: me, until } };
      });
      if (taken?.nodeAccessLease?.holder === me) return makeNodeAccess(ctx, neutron, me, cluster.nodeAccess);
    }
    if (Date.now() > deadline)
      throw new NeutronError(
        'unavailable',
        `the node-access groups of cluster ${ctx.cluster} are still being made by another node`,
      );
    await sleep(200 + Math.random() * 300);
  }
}

const NODE_ACCESS_LEASE_MS = 60_000;
const NODE_ACCESS_WAIT_MS = 90_000;

async function makeNodeAccess(
  ctx: NodeContext,
  neutron: NeutronClient,
  me: string,
  legacy: { securityGroupId: string; addressGroupId?: string | undefined } | undefined,
): Promise<NodeAccess> {
  const release = (access?: NodeAccess) =>
    ctx.store.clusters.update(ctx.cluster, (cur) => {
      if (!cur || cur.nodeAccessLease?.holder !== me) return undefined;
      const { createdAt: _, nodeAccessLease: __, ...input } = cur;
      return access ? { ...input, nodeAccess: access } : input;
    });
  let made: NodeAccess;
  try {
    made = await createNodeAccess(neutron, ctx.cluster);
  } catch (e) {
    await release().catch(() => undefined);
    throw e;
  }
  const stored = await release(made).catch(() => undefined);
  if (stored?.nodeAccess?.securityGroupId !== made.securityGroupId) {
    await deleteNodeAccess(neutron, made).catch(() => undefined);
    throw new NeutronError(
      'unavailable',
      `could not record the node-access groups of cluster ${ctx.cluster} (its lease ran out)`,
    );
  }
  ctx.log.info('node-access groups made', { ...made });
  if (legacy) await replaceLegacyAccess(ctx, neutron, legacy, made);
  return made;
}

/**
 * An older N-Net's node-access group admitted an address group, which this ML2/OVN enforces as
 * "from anywhere": every port that carries it gets the new group instead, every node port of the
 * cluster is admitted in the new one, and the old group and address group go. Best effort (the
 * ADD goes on); what is left is logged.
 */
async function replaceLegacyAccess(
  ctx: NodeContext,
  neutron: NeutronClient,
  legacy: { securityGroupId: string; addressGroupId?: string | undefined },
  made: NodeAccess,
): Promise<void> {
  try {
    for (const p of await clusterNodePorts(neutron, ctx.cluster))
      await admitNodePort(neutron, made, p, nodeOfPort(p) ?? p.hostId);
    for (const port of await neutron.ports.list({ securityGroups: legacy.securityGroupId })) {
      const groups = [
        ...new Set(port.securityGroups.map((g) => (g === legacy.securityGroupId ? made.securityGroupId : g))),
      ];
      await neutron.ports.update(port.id, { securityGroups: groups });
    }
    await neutron.securityGroups.ensureDeleted(legacy.securityGroupId);
    if (legacy.addressGroupId) await neutron.addressGroups.ensureDeleted(legacy.addressGroupId);
    ctx.log.info("an older N-Net's node-access group replaced", {
      old: legacy.securityGroupId,
      new: made.securityGroupId,
    });
  } catch (e) {
    ctx.log.error(
      "replacing an older N-Net's node-access group failed: ports that still carry it admit every source; give them the new group",
      { old: legacy.securityGroupId, new: made.securityGroupId, error: e },
    );
  }
}

/**
 * The node's port on `networkId`, made and plugged when missing. Any failure is retryable for the
 * caller (Neutron down, quota, the tap not appearing): an ADD that needs it fails with code 11.
 * Not a config error, nor a VM node's NIC or kernel that cannot carry it (a VLAN device).
 */
export async function ensureNodePort(ctx: NodeContext, networkId: string): Promise<NodePort> {
  const known = (await ctx.store.nodes.get(nodeKey(ctx)))?.ports.find((p) => p.networkId === networkId);
  try {
    if (known) {
      if (!(await hostNicPresent(ctx.plug, known.portId))) await plugNodePort(ctx, known);
      return known;
    }
    return await makeNodePort(ctx, networkId);
  } catch (e) {
    // With 802.1Q devices there is no tap to wait for: a plug error is the VM's NIC or kernel, for good.
    if (e instanceof InputError || (e instanceof PlugError && usesKernelVlan(ctx.plug))) throw e;
    throw new NeutronError(
      'unavailable',
      `node ${ctx.node} has no port of its own on network ${networkId} yet and could not make one: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

async function makeNodePort(ctx: NodeContext, networkId: string): Promise<NodePort> {
  const neutron = await ctx.neutron();
  const access = await nodeAccess(ctx, neutron);
  // A port an earlier run made but did not record (it crashed in between) is adopted.
  const left = await nodePorts(neutron, ctx.cluster, ctx.node, networkId);
  if (left[0]) await admitNodePort(neutron, access, left[0], ctx.node);
  const nested = isNested(ctx);
  const port =
    left[0] ??
    (await createNodePort(neutron, {
      cluster: ctx.cluster,
      node: ctx.node,
      networkId,
      access,
      subport: nested,
    }));
  let subport: NodePort['subport'];
  // Ours to take back: off the trunk (the port object predates the join), then deleted.
  const releaseOurs = async () => {
    if (subport) await removeSubport(neutron, subport.trunkId, port.id);
    await releaseNodePort(neutron, port, access);
  };
  let record: NodePort;
  try {
    if (nested) subport = await nodePortOnTrunk(ctx, neutron, port);
    record = await nodePortRecord(ctx, neutron, port, subport);
    await checkServiceCidrs(ctx, record);
    await ctx.store.nodes.update(nodeKey(ctx), (cur) => {
      if (cur?.ports.some((p) => p.networkId === networkId)) return undefined;
      return { ...cur, cluster: ctx.cluster, name: ctx.node, ports: [...(cur?.ports ?? []), record] };
    });
  } catch (e) {
    if (!left[0]) await releaseOurs().catch(() => undefined);
    throw e;
  }
  const winner = (await ctx.store.nodes.get(nodeKey(ctx)))?.ports.find((p) => p.networkId === networkId);
  if (!winner)
    throw new NeutronError(
      'unavailable',
      `the node record of ${ctx.node} lost its port on network ${networkId}`,
    );
  if (winner.portId !== port.id) {
    // Another ADD recorded its port first: keep that one.
    await releaseOurs();
  }
  await plugNodePort(ctx, winner);
  ctx.log.info('node port ready', { networkId, portId: winner.portId, device: winner.device });
  return winner;
}

/** Plugs (or restores) a recorded node port and the node's routing for it. */
export async function plugNodePort(ctx: NodeContext, p: NodePort): Promise<'replugged' | 'unchanged'> {
  const r = await plugHostNic(
    ctx.plug,
    {
      portId: p.portId,
      mac: p.mac,
      mtu: p.mtu,
      ips: p.ips,
      routes: p.routes,
      node: ctx.node,
      networkId: p.networkId,
      vlan: p.subport?.vlan,
    },
    { log: ctx.log },
  );
  await ensureNodeRouting(hostNetns(ctx.plug), { ipv6: p.ips.some((i) => ipFamily(i.address) === 6) });
  return r.changed ? 'replugged' : 'unchanged';
}

/**
 * The node's policy routes (src/plug/policy-routes.ts) for its addresses now: an address that
 * came after its ports were plugged (a NIC hot-plugged into a VM on a pod network) or went.
 */
export async function refreshNodeRoutes(ctx: NodeContext): Promise<void> {
  await ensurePolicyRoutes(hostNetns(ctx.plug));
}

/**
 * What the node port carries: its addresses, the network's MTU (within a VM NIC's, whose VLAN
 * device it is), on-link routes to the network's other subnets, a VM node's subport.
 */
async function nodePortRecord(
  ctx: NodeContext,
  neutron: NeutronClient,
  port: Port,
  subport: NodePort['subport'],
): Promise<NodePort> {
  const [subnets, network, nic] = await Promise.all([
    neutron.subnets.list({ networkId: port.networkId }),
    ctx.mtu === undefined ? neutron.networks.get(port.networkId) : undefined,
    subport ? readNestedNic(ctx.plug) : undefined,
  ]);
  const ips = port.fixedIps.map((f) => {
    const s = subnets.find((x) => x.id === f.subnetId);
    if (!s)
      throw new NeutronError('bad-reply', `node port ${port.id}: subnet ${f.subnetId} is not on its network`);
    return { address: f.ipAddress, prefixLength: Number(s.cidr.split('/')[1]) };
  });
  if (ips.length === 0) throw new NeutronError('bad-reply', `node port ${port.id} has no IP address`);
  return {
    networkId: port.networkId,
    portId: port.id,
    device: deviceNames(port.id).host,
    mac: port.macAddress.toLowerCase(),
    mtu: Math.min(ctx.mtu ?? network?.mtu ?? 1500, nic?.mtu ?? Number.POSITIVE_INFINITY),
    ips,
    routes: otherSubnets(subnets, ips).map((s) => ({ dst: canonicalCidr(s.cidr) ?? s.cidr })),
    ...(subport ? { subport } : {}),
  };
}

function otherSubnets(subnets: Subnet[], ips: { address: string }[]): Subnet[] {
  return subnets.filter((s) => !ips.some((i) => containsIp(s.cidr, i.address)));
}

/**
 * A Service CIDR that overlaps the node's own network (its underlay) would capture the node's
 * traffic: refuse it as a config error naming both ranges.
 */
async function checkServiceCidrs(ctx: NodeContext, p: NodePort): Promise<void> {
  const underlay = (await listHostAddresses(hostNetns(ctx.plug))).filter((a) => !a.device.startsWith('nnh'));
  const ranges = [
    ...underlay.map((a) => ({
      cidr: `${a.address}/${a.prefixLength}`,
      what: `the node's address ${a.address}/${a.prefixLength} on ${a.device}`,
    })),
    ...p.ips.map((i) => ({
      cidr: `${i.address}/${i.prefixLength}`,
      what: `the pod network ${canonicalCidr(`${i.address}/${i.prefixLength}`)}`,
    })),
  ];
  for (const svc of await serviceCidrs(ctx)) {
    const s = parseCidr(svc);
    if (!s.ok) throw new InputError('invalid-config', `Service CIDR "${svc}" is ${s.reason}`);
    for (const r of ranges) {
      const c = parseCidr(canonicalCidr(r.cidr) ?? r.cidr);
      if (c.ok && cidrsOverlap(s.value, c.value))
        throw new InputError(
          'invalid-config',
          `the Service CIDR ${svc} overlaps ${r.what}; choose a Service CIDR outside both`,
        );
    }
  }
}

/** The routes a pod's NIC gets for Services: each Service CIDR via the node port's address of its family. */
export function serviceRoutes(
  cidrs: readonly string[],
  p: Pick<NodePort, 'ips'>,
): { dst: string; gateway: string }[] {
  return cidrs.flatMap((c) => {
    const family = ipFamily(c.split('/')[0]!);
    const via = p.ips.find((i) => ipFamily(i.address) === family);
    return via ? [{ dst: c, gateway: via.address }] : [];
  });
}

/** Whether a Service CIDR overlaps one of the pod's subnets (a config error for the ADD). */
export function serviceOverlap(
  cidrs: readonly string[],
  podIps: readonly { address: string; prefixLength: number }[],
): string | undefined {
  for (const svc of cidrs) {
    const s = parseCidr(svc);
    if (!s.ok) return `Service CIDR "${svc}" is ${s.reason}`;
    for (const ip of podIps) {
      const net = canonicalCidr(`${ip.address}/${ip.prefixLength}`)!;
      const c = parseCidr(net);
      if (c.ok && cidrsOverlap(s.value, c.value))
        return `the Service CIDR ${svc} overlaps the pod subnet ${net}`;
    }
  }
  return undefined;
}
