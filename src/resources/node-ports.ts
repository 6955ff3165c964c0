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
 * The cluster's node-access objects: the ones recorded (when they still exist), else found by
 * name and tag, else created. The caller records the result in the cluster record.
 */
export async function ensureNodeAccess(
  neutron: NeutronClient,
  cluster: string,
  recorded: NodeAccess | undefined,
): Promise<NodeAccess> {
  const exists = async (get: () => Promise<unknown>) =>
    get().then(
      () => true,
      (e: unknown) => {
        if (e instanceof NeutronError && e.reason === 'not-found') return false;
        throw e;
      },
    );
  if (
    recorded &&
    (await exists(() => neutron.addressGroups.get(recorded.addressGroupId))) &&
    (await exists(() => neutron.securityGroups.get(recorded.securityGroupId)))
  )
    return recorded;

  const agName = nodeAddressGroupName(cluster);
  const ag =
    oldest(await neutron.addressGroups.list({ name: agName })) ??
    (await neutron.addressGroups.create({
      name: agName,
      description: `N-Net: the node ports of cluster ${cluster}`,
      addresses: [],
    }));
  const sgTags = ['nnet', clusterTag(cluster), NODE_ACCESS_TAG];
  let sg = oldest(await neutron.securityGroups.list({ tags: sgTags }));
  if (!sg) {
    sg = await neutron.securityGroups.create({
      name: `nnet-${cluster}-node-access`.slice(0, 255),
      description: `N-Net: lets the nodes of cluster ${cluster} (kubelet probes, hostNetwork pods, Services) reach pods`,
      tags: sgTags,
    });
  }
  for (const ethertype of ['IPv4', 'IPv6'] as const) {
    const has = sg.rules.some(
      (r) => r.direction === 'ingress' && r.ethertype === ethertype && r.remoteAddressGroupId === ag.id,
    );
    if (!has)
      await neutron.securityGroupRules.create({
        securityGroupId: sg.id,
        direction: 'ingress',
        ethertype,
        remoteAddressGroupId: ag.id,
        description: 'N-Net: from the cluster nodes',
      });
  }
  return { addressGroupId: ag.id, securityGroupId: sg.id };
}

function oldest<T extends { id: string; createdAt?: string | undefined }>(found: T[]): T | undefined {
  return [...found].sort(
    (a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.id.localeCompare(b.id),
  )[0];
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
