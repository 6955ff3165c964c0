/**
 * The Neutron side of a node's presence on the pod networks: each node has one port per network
 * it serves (device_owner `network:nnet-node`, bound to the node, tagged with the cluster and the
 * node), and the cluster has two objects that let nodes reach pods whatever the pods' own
 * security groups: an address group holding every node port's IPs, and a security group on every
 * pod port that admits ingress from that address group (kubelet probes, hostNetwork pods, and
 * Service traffic, which the node masquerades to its port's address).
 *
 * A `network:` device owner makes ML2/OVN treat the port like a router port: no port security, so
 * the node may forward replies whose source is a Service IP. Neutron lets a project create such a
 * port on networks it owns.
 */
import { NeutronError } from '../errors/index.ts';
import type { NeutronClient, Port } from '../neutron/index.ts';
import { freeClusterPoolPorts } from './pool-ports.ts';
import { clusterTag, tagValue } from './tags.ts';

export const NODE_PORT_OWNER = 'network:nnet-node';
export const NODE_PORT_TAG = 'nnet-node-port';
export const NODE_ACCESS_TAG = 'nnet-node-access';

export function nodePortTags(cluster: string, node: string): string[] {
  return ['nnet', clusterTag(cluster), `nnet-node=${tagValue(node)}`, NODE_PORT_TAG];
}

/** `nnet-<cluster>-nodes`: the address group of the cluster's node ports. */
export function nodeAddressGroupName(cluster: string): string {
  return `nnet-${cluster}-nodes`.slice(0, 255);
}

export interface NodeAccess {
  addressGroupId: string;
  securityGroupId: string;
}

/**
 * Makes a fresh set of node-access objects for the cluster: the address group and the security
 * group with its two ingress rules. The caller records them with a compare-and-swap in the
 * cluster record and, when another process recorded its own first, deletes these again
 * (deleteNodeAccess): so every pod of the cluster carries the same group.
 */
export async function createNodeAccess(neutron: NeutronClient, cluster: string): Promise<NodeAccess> {
  const ag = await neutron.addressGroups.create({
    name: nodeAddressGroupName(cluster),
    description: `N-Net: the node ports of cluster ${cluster}`,
    addresses: [],
  });
  try {
    const sg = await neutron.securityGroups.create({
      name: `nnet-${cluster}-node-access`.slice(0, 255),
      description: `N-Net: lets the nodes of cluster ${cluster} (kubelet probes, hostNetwork pods, Services) reach pods`,
      tags: ['nnet', clusterTag(cluster), NODE_ACCESS_TAG],
    });
    const access = { addressGroupId: ag.id, securityGroupId: sg.id };
    try {
      for (const ethertype of ['IPv4', 'IPv6'] as const)
        await neutron.securityGroupRules.create({
          securityGroupId: sg.id,
          direction: 'ingress',
          ethertype,
          remoteAddressGroupId: ag.id,
          description: 'N-Net: from the cluster nodes',
        });
      return access;
    } catch (e) {
      await deleteNodeAccess(neutron, access).catch(() => undefined);
      throw e;
    }
  } catch (e) {
    await neutron.addressGroups.ensureDeleted(ag.id).catch(() => undefined);
    throw e;
  }
}

/**
 * The cluster's node-access objects as Neutron has them, for a cluster with no store record to
 * hold them (credentials in the CNI config): the oldest complete set tagged as the cluster's,
 * else a new one. Two nodes racing both make a set; each then keeps the oldest and deletes its
 * own if it lost, so every pod ends with the same group.
 */
export async function findOrCreateNodeAccess(neutron: NeutronClient, cluster: string): Promise<NodeAccess> {
  const found = await taggedNodeAccess(neutron, cluster);
  if (found[0]) return found[0];
  const made = await createNodeAccess(neutron, cluster);
  const chosen = (await taggedNodeAccess(neutron, cluster))[0] ?? made;
  if (chosen.securityGroupId !== made.securityGroupId)
    await deleteNodeAccess(neutron, made).catch(() => undefined);
  return chosen;
}

async function taggedNodeAccess(neutron: NeutronClient, cluster: string): Promise<NodeAccess[]> {
  const sgs = await neutron.securityGroups.list({ tags: ['nnet', clusterTag(cluster), NODE_ACCESS_TAG] });
  const complete = sgs.flatMap((sg) => {
    const ag = sg.rules.find(
      (r) => r.direction === 'ingress' && r.remoteAddressGroupId,
    )?.remoteAddressGroupId;
    const both = sg.rules.filter((r) => r.remoteAddressGroupId === ag).length === 2;
    return ag && both ? [{ sg, access: { addressGroupId: ag, securityGroupId: sg.id } }] : [];
  });
  const age = (x: { sg: { createdAt?: string; id: string } }) => `${x.sg.createdAt ?? ''}|${x.sg.id}`;
  return complete.sort((a, b) => (age(a) < age(b) ? -1 : 1)).map((x) => x.access);
}

/** Deletes a set of node-access objects (success when already gone). */
export async function deleteNodeAccess(neutron: NeutronClient, access: NodeAccess): Promise<void> {
  await neutron.securityGroups.ensureDeleted(access.securityGroupId);
  await neutron.addressGroups.ensureDeleted(access.addressGroupId);
}

/** Whether recorded node-access objects still exist in Neutron (for the agent's reconcile). */
export async function nodeAccessExists(neutron: NeutronClient, access: NodeAccess): Promise<boolean> {
  const exists = (get: () => Promise<unknown>) =>
    get().then(
      () => true,
      (e: unknown) => {
        if (e instanceof NeutronError && e.reason === 'not-found') return false;
        throw e;
      },
    );
  return (
    (await exists(() => neutron.addressGroups.get(access.addressGroupId))) &&
    (await exists(() => neutron.securityGroups.get(access.securityGroupId)))
  );
}

/** The node's ports (on every network, or one), as Neutron has them. */
export function nodePorts(
  neutron: NeutronClient,
  cluster: string,
  node: string,
  networkId?: string,
): Promise<Port[]> {
  return neutron.ports.list({ tags: nodePortTags(cluster, node), ...(networkId ? { networkId } : {}) });
}

/** Every node port of the cluster, of all nodes. */
export function clusterNodePorts(neutron: NeutronClient, cluster: string): Promise<Port[]> {
  return neutron.ports.list({ tags: ['nnet', clusterTag(cluster), NODE_PORT_TAG] });
}

/** The node named by a node port's tags. */
export function nodeOfPort(port: Pick<Port, 'tags'>): string | undefined {
  return port.tags?.find((t) => t.startsWith('nnet-node='))?.slice('nnet-node='.length);
}

const hostCidr = (ip: string) => `${ip}/${ip.includes(':') ? 128 : 32}`;

/**
 * Creates the node's port on a network, bound to the node, and adds its IPs to the cluster's
 * node address group. On failure nothing is left.
 */
export async function createNodePort(
  neutron: NeutronClient,
  o: { cluster: string; node: string; networkId: string; access: NodeAccess },
): Promise<Port> {
  const port = await neutron.ports.create({
    networkId: o.networkId,
    name: `nnet-node-${o.node}`.slice(0, 255),
    deviceOwner: NODE_PORT_OWNER,
    deviceId: `nnet-node-${o.node}`.slice(0, 255),
    hostId: o.node,
    tags: nodePortTags(o.cluster, o.node),
    description: `N-Net: node ${o.node}'s own port (probes, hostNetwork pods, Services)`,
  });
  try {
    await neutron.addressGroups.addAddresses(
      o.access.addressGroupId,
      port.fixedIps.map((f) => hostCidr(f.ipAddress)),
    );
    return port;
  } catch (e) {
    await neutron.ports.ensureDeleted(port.id).catch(() => undefined);
    throw e;
  }
}

/** Takes the port's IPs out of the node address group and deletes it. Success when already gone. */
export async function releaseNodePort(
  neutron: NeutronClient,
  port: Pick<Port, 'id' | 'fixedIps'>,
  access: NodeAccess | undefined,
): Promise<void> {
  if (access && port.fixedIps.length > 0)
    await neutron.addressGroups
      .removeAddresses(
        access.addressGroupId,
        port.fixedIps.map((f) => hostCidr(f.ipAddress)),
      )
      .catch((e: unknown) => {
        if (!(e instanceof NeutronError && (e.reason === 'not-found' || e.reason === 'bad-request'))) throw e;
      });
  await neutron.ports.ensureDeleted(port.id);
}

/**
 * Everything of the cluster's node presence in Neutron: the free ports of every node's warm pools
 * (the pools are drained), every node port (of every node), then the node-access security group
 * and address group. For deleting a cluster; pods must be gone. Objects already gone are success.
 */
export async function releaseClusterNodes(
  neutron: NeutronClient,
  cluster: string,
  recorded: NodeAccess | undefined,
): Promise<{ ports: string[]; groups: string[] }> {
  const done = { ports: [] as string[], groups: [] as string[] };
  const pooled = await freeClusterPoolPorts(neutron, cluster);
  for (const p of [...pooled, ...(await clusterNodePorts(neutron, cluster))]) {
    await neutron.ports.ensureDeleted(p.id);
    done.ports.push(p.id);
  }
  const sgs = await neutron.securityGroups.list({ tags: ['nnet', clusterTag(cluster), NODE_ACCESS_TAG] });
  const sgIds = new Set([...sgs.map((s) => s.id), ...(recorded ? [recorded.securityGroupId] : [])]);
  for (const id of sgIds) if (await neutron.securityGroups.ensureDeleted(id)) done.groups.push(id);
  const ags = await neutron.addressGroups.list({ name: nodeAddressGroupName(cluster) });
  const agIds = new Set([...ags.map((a) => a.id), ...(recorded ? [recorded.addressGroupId] : [])]);
  for (const id of agIds) if (await neutron.addressGroups.ensureDeleted(id)) done.groups.push(id);
  return done;
}
