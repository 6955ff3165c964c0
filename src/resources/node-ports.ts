/**
 * The Neutron side of a node's presence on the pod networks: each node has one port per network
 * it serves (device_owner `network:nnet-node`, bound to the node, tagged with the cluster and the
 * node), and the cluster has a security group on every pod port that admits ingress from each node
 * port address, one rule per address (kubelet probes, hostNetwork pods, and Service traffic, which
 * the node masquerades to its port's address), so nodes reach pods whatever the pods' own groups.
 *
 * A `network:` device owner makes ML2/OVN treat the port like a router port: no port security, so
 * the node may forward replies whose source is a Service IP. Neutron lets a project create such a
 * port on networks it owns. A VM node's (nested mode) port is made unbound and held by no device,
 * to become a subport of the VM's trunk: Neutron then calls its owner `trunk:subport`, and port
 * security stays off. Its tags, not its owner, say it is a node port (isNodePort).
 */
import { NeutronError } from '../errors/index.ts';
import type { NeutronClient, Port } from '../neutron/index.ts';
import { freeClusterPoolPorts } from './pool-ports.ts';
import { clusterTag, nodeTag } from './tags.ts';
import { leaveAnyTrunk } from './trunk.ts';

export const NODE_PORT_OWNER = 'network:nnet-node';
export const NODE_PORT_TAG = 'nnet-node-port';
export const NODE_ACCESS_TAG = 'nnet-node-access';

export function nodePortTags(cluster: string, node: string): string[] {
  return ['nnet', clusterTag(cluster), nodeTag(node), NODE_PORT_TAG];
}

/** A node's own port, bound to it or riding its VM's trunk (whose owner Neutron rewrites). */
export function isNodePort(port: Pick<Port, 'tags'>): boolean {
  return (port.tags ?? []).includes(NODE_PORT_TAG);
}

/** `nnet-<cluster>-nodes`: the address group an older N-Net made for the node ports (removed with the cluster). */
export function legacyNodesGroupName(cluster: string): string {
  return `nnet-${cluster}-nodes`.slice(0, 255);
}

/**
 * The node-access group every pod port carries. It holds one ingress rule per node-port address
 * (`remote_ip_prefix` IP/32 or /128), added when a node port is made and removed when it goes:
 * ML2/OVN enforces such rules exactly. (A remote address group, which older N-Net used, is not
 * enforced by this ML2/OVN — the rule became "from anywhere" — and a remote group cannot name
 * node ports: a `network:` port is trusted and in no port group.)
 */
export interface NodeAccess {
  securityGroupId: string;
  /** Set by this N-Net: the group's rules are per node address. A record without it is an older N-Net's. */
  rules: 'per-node-ip';
}

/** The recorded node-access group when it is this N-Net's kind (not an older one's, open to all). */
export function completeNodeAccess(
  recorded: { securityGroupId: string; rules?: string | undefined } | undefined,
): NodeAccess | undefined {
  return recorded?.rules === 'per-node-ip'
    ? { securityGroupId: recorded.securityGroupId, rules: 'per-node-ip' }
    : undefined;
}

/**
 * Makes a fresh node-access group for the cluster (no ingress rules yet: each node port adds its
 * own). The caller records it with a compare-and-swap in the cluster record and, when another
 * process recorded its own first, deletes this one again (deleteNodeAccess): so every pod of the
 * cluster carries the same group.
 */
export async function createNodeAccess(neutron: NeutronClient, cluster: string): Promise<NodeAccess> {
  const sg = await neutron.securityGroups.create({
    name: `nnet-${cluster}-node-access`.slice(0, 255),
    description: `N-Net: lets the nodes of cluster ${cluster} (kubelet probes, hostNetwork pods, Services) reach pods; one rule per node port address`,
    tags: ['nnet', clusterTag(cluster), NODE_ACCESS_TAG],
  });
  return { securityGroupId: sg.id, rules: 'per-node-ip' };
}

/**
 * The cluster's node-access group as Neutron has it, for a cluster with no store record to hold
 * it (credentials in the CNI config): the oldest tagged as the cluster's, else a new one. Two
 * nodes racing both make one; each then keeps the oldest and deletes its own if it lost.
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
  // An older N-Net's group admits a remote address group (everyone, here): not one of ours.
  const ours = sgs.filter((sg) => !sg.rules.some((r) => r.remoteAddressGroupId));
  const age = (sg: { createdAt?: string | undefined; id: string }) => `${sg.createdAt ?? ''}|${sg.id}`;
  return ours
    .sort((a, b) => (age(a) < age(b) ? -1 : 1))
    .map((sg) => ({ securityGroupId: sg.id, rules: 'per-node-ip' as const }));
}

/** Deletes a node-access group (success when already gone). */
export async function deleteNodeAccess(
  neutron: NeutronClient,
  access: Pick<NodeAccess, 'securityGroupId'>,
): Promise<void> {
  await neutron.securityGroups.ensureDeleted(access.securityGroupId);
}

/** Whether a recorded node-access group still exists in Neutron (for the agent's reconcile). */
export async function nodeAccessExists(neutron: NeutronClient, access: NodeAccess): Promise<boolean> {
  return neutron.securityGroups.get(access.securityGroupId).then(
    () => true,
    (e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found') return false;
      throw e;
    },
  );
}

const hostCidr = (ip: string) => `${ip}/${ip.includes(':') ? 128 : 32}`;
const NODE_RULE_PREFIX = 'N-Net: node ';

/** The access group's rules admitting a node port's addresses, added where missing. */
export async function admitNodePort(
  neutron: NeutronClient,
  access: NodeAccess,
  port: Pick<Port, 'fixedIps'>,
  node: string,
): Promise<void> {
  const have = new Set(
    (await neutron.securityGroups.get(access.securityGroupId)).rules
      .filter((r) => r.direction === 'ingress' && r.remoteIpPrefix)
      .map((r) => r.remoteIpPrefix),
  );
  for (const f of port.fixedIps) {
    const prefix = hostCidr(f.ipAddress);
    if (have.has(prefix)) continue;
    await neutron.securityGroupRules
      .create({
        securityGroupId: access.securityGroupId,
        direction: 'ingress',
        ethertype: f.ipAddress.includes(':') ? 'IPv6' : 'IPv4',
        remoteIpPrefix: prefix,
        description: `${NODE_RULE_PREFIX}${node}`.slice(0, 255),
      })
      .catch((e: unknown) => {
        if (!(e instanceof NeutronError && e.reason === 'conflict')) throw e; // made meanwhile
      });
  }
}

/**
 * Removes the access group's rules for addresses no node port of the cluster holds any more (a
 * node port released while Neutron failed, say): a pod that gets such an address later must not
 * be admitted as a node. Returns the rules removed.
 */
export async function pruneNodeRules(
  neutron: NeutronClient,
  cluster: string,
  access: NodeAccess,
): Promise<string[]> {
  const held = new Set(
    (await clusterNodePorts(neutron, cluster)).flatMap((p) => p.fixedIps.map((f) => hostCidr(f.ipAddress))),
  );
  const removed: string[] = [];
  for (const r of (await neutron.securityGroups.get(access.securityGroupId)).rules) {
    if (r.direction !== 'ingress' || !r.remoteIpPrefix || held.has(r.remoteIpPrefix)) continue;
    await neutron.securityGroupRules.ensureDeleted(r.id);
    removed.push(r.remoteIpPrefix);
  }
  return removed;
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

/**
 * Creates the node's port on a network, bound to the node (or, for a VM node, unbound and held by
 * no device: a trunk takes no port that is), and admits its addresses in the cluster's
 * node-access group. On failure nothing is left.
 */
export async function createNodePort(
  neutron: NeutronClient,
  o: { cluster: string; node: string; networkId: string; access: NodeAccess; subport?: boolean },
): Promise<Port> {
  const port = await neutron.ports.create({
    networkId: o.networkId,
    name: `nnet-node-${o.node}`.slice(0, 255),
    deviceOwner: NODE_PORT_OWNER,
    ...(o.subport ? {} : { deviceId: `nnet-node-${o.node}`.slice(0, 255), hostId: o.node }),
    tags: nodePortTags(o.cluster, o.node),
    description: `N-Net: node ${o.node}'s own port (probes, hostNetwork pods, Services)`,
  });
  try {
    await admitNodePort(neutron, o.access, port, o.node);
    return port;
  } catch (e) {
    await releaseNodePort(neutron, port, o.access).catch(() => undefined);
    throw e;
  }
}

/**
 * Takes the port's addresses out of the node-access group, takes it off its trunk if it rides one
 * (a VM node's), and deletes it. Success when already gone.
 */
export async function releaseNodePort(
  neutron: NeutronClient,
  port: Pick<Port, 'id' | 'fixedIps' | 'deviceOwner'>,
  access: Pick<NodeAccess, 'securityGroupId'> | undefined,
): Promise<void> {
  if (access && port.fixedIps.length > 0) {
    const mine = new Set(port.fixedIps.map((f) => hostCidr(f.ipAddress)));
    const rules = await neutron.securityGroups.get(access.securityGroupId).then(
      (g) => g.rules,
      (e: unknown) => {
        if (e instanceof NeutronError && e.reason === 'not-found') return [];
        throw e;
      },
    );
    for (const r of rules)
      if (r.direction === 'ingress' && r.remoteIpPrefix && mine.has(r.remoteIpPrefix))
        await neutron.securityGroupRules.ensureDeleted(r.id);
  }
  await leaveAnyTrunk(neutron, [port]);
  await neutron.ports.ensureDeleted(port.id);
}

/**
 * Everything of the cluster's node presence in Neutron: the free ports of every node's warm pools
 * (the pools are drained), every node port (of every node), then the node-access security groups
 * (and an older N-Net's address group). For deleting a cluster; pods must be gone. Objects already gone are success.
 */
export async function releaseClusterNodes(
  neutron: NeutronClient,
  cluster: string,
  recorded: Pick<NodeAccess, 'securityGroupId'> | undefined,
  /** The nodes the store knows: their pool ports a crash left untagged are found too. */
  nodes: readonly string[] = [],
): Promise<{ ports: string[]; groups: string[] }> {
  const done = { ports: [] as string[], groups: [] as string[] };
  const ports = [
    ...(await freeClusterPoolPorts(neutron, cluster, nodes)),
    ...(await clusterNodePorts(neutron, cluster)),
  ];
  await leaveAnyTrunk(neutron, ports); // a VM node's pool and node ports ride its trunk
  for (const p of ports) {
    await neutron.ports.ensureDeleted(p.id);
    done.ports.push(p.id);
  }
  const sgs = await neutron.securityGroups.list({ tags: ['nnet', clusterTag(cluster), NODE_ACCESS_TAG] });
  const sgIds = new Set([...sgs.map((s) => s.id), ...(recorded ? [recorded.securityGroupId] : [])]);
  for (const id of sgIds) if (await neutron.securityGroups.ensureDeleted(id)) done.groups.push(id);
  // What an older N-Net made: the address group of the node ports.
  for (const ag of await neutron.addressGroups.list({ name: legacyNodesGroupName(cluster) }))
    if (await neutron.addressGroups.ensureDeleted(ag.id)) done.groups.push(ag.id);
  return done;
}
