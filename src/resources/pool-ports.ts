/**
 * The Neutron side of a node's warm port pools: ports made in bulk (one POST with a list), already
 * bound to the node, carrying the pool's security groups and one address per subnet, and named,
 * owned and tagged so that every port says who holds it now — the pool (name and device_id
 * `nnet-pool-<node>`) or a pod (the pod's name, the container id, the pod's tags). Every pool port
 * keeps the `nnet-pool` tag and its node's tag for its whole life, so a restarted agent finds its
 * pools again, and `kubenetctl delete cluster` finds what to drain.
 *
 *   const ports = await createPoolPorts(neutron, { cluster, node, networkId, subnetIds, securityGroupIds, count: 8 });
 *   await setPortOwner(neutron, ports[0].id, heldOwner(pod, containerId, node));
 */
import type { NeutronClient, Port } from '../neutron/index.ts';
import { DEVICE_OWNER, type PodRef, podTags, portName } from './ports.ts';
import { clusterTag, nodeTag } from './tags.ts';

export const POOL_TAG = 'nnet-pool';

/** device_id and name of a port the pool holds (no pod has it). */
export function poolDeviceId(node: string): string {
  return `nnet-pool-${node}`.slice(0, 255);
}

/** Who a port names as its holder: Neutron's name, device_id and tags. */
export interface PortOwner {
  name: string;
  deviceId: string;
  tags: string[];
}

/** The pool holds the port. */
export function poolOwner(cluster: string, node: string): PortOwner {
  return {
    name: poolDeviceId(node),
    deviceId: poolDeviceId(node),
    tags: ['nnet', clusterTag(cluster), POOL_TAG, nodeTag(node)],
  };
}

/** A pod holds the port (it is still the pool's: DEL gives it back). */
export function heldOwner(pod: PodRef, containerId: string, node: string): PortOwner {
  return { name: portName(pod), deviceId: containerId, tags: podTags(pod, [POOL_TAG, nodeTag(node)]) };
}

/** Whether Neutron's fields already say what `owner` says (tags in any order). */
export function ownerMatches(port: Pick<Port, 'name' | 'deviceId' | 'tags'>, owner: PortOwner): boolean {
  const have = new Set(port.tags ?? []);
  return (
    port.name === owner.name &&
    port.deviceId === owner.deviceId &&
    have.size === owner.tags.length &&
    owner.tags.every((t) => have.has(t))
  );
}

/** Whether a port is a pool port (tagged, or made by a bulk create whose tagging did not finish). */
export function isPoolPort(port: Pick<Port, 'tags' | 'deviceId'>): boolean {
  return (port.tags ?? []).includes(POOL_TAG) || port.deviceId.startsWith('nnet-pool-');
}

export interface PoolPortsRequest {
  cluster: string;
  node: string;
  networkId: string;
  subnetIds: readonly string[];
  securityGroupIds: readonly string[];
  count: number;
  /**
   * For a nested node's trunk: unbound, with no device_id and no device_owner, which Neutron
   * wants of a port it adds to a trunk (the trunk binds it; the owner worker sets device_id).
   */
  subports?: boolean;
}

/**
 * `count` pool ports in one request, tagged, and bound to the node (or ready to join its trunk)
 * (src/neutron createMany).
 */
export function createPoolPorts(neutron: NeutronClient, r: PoolPortsRequest): Promise<Port[]> {
  const owner = poolOwner(r.cluster, r.node);
  const one = {
    networkId: r.networkId,
    name: owner.name,
    ...(r.subports
      ? { deviceId: '', deviceOwner: '' }
      : { deviceId: owner.deviceId, deviceOwner: DEVICE_OWNER, hostId: r.node }),
    fixedIps: r.subnetIds.map((subnetId) => ({ subnetId })),
    securityGroups: [...r.securityGroupIds],
    tags: owner.tags,
    description: `N-Net: a warm pool port of node ${r.node}`,
  };
  return neutron.ports.createMany(Array.from({ length: r.count }, () => one));
}

/**
 * Every pool port of the node, tagged or not yet tagged (a bulk create whose tagging a crash
 * interrupted: bound ones carry the pool's device_id, a nested node's, made without one, its name).
 */
export async function nodePoolPorts(neutron: NeutronClient, cluster: string, node: string): Promise<Port[]> {
  const [tagged, untagged, unheld] = await Promise.all([
    neutron.ports.list({ tags: [POOL_TAG, clusterTag(cluster), nodeTag(node)] }),
    neutron.ports.list({ deviceId: poolDeviceId(node), deviceOwner: DEVICE_OWNER }),
    neutron.ports.list({ name: poolDeviceId(node), deviceId: '' }),
  ]);
  const byId = new Map(tagged.map((p) => [p.id, p]));
  for (const p of [
    ...untagged,
    ...unheld.filter((x) => x.tags.length === 0 && x.deviceOwner === '' && x.deviceId === ''),
  ])
    if (!byId.has(p.id)) byId.set(p.id, p);
  return [...byId.values()];
}

/**
 * The cluster's pool ports that no pod holds (what deleting the cluster drains), and those of
 * `nodes` whose tagging a crash interrupted.
 */
export async function freeClusterPoolPorts(
  neutron: NeutronClient,
  cluster: string,
  nodes: readonly string[] = [],
): Promise<Port[]> {
  const lists = await Promise.all([
    neutron.ports.list({ tags: ['nnet', clusterTag(cluster), POOL_TAG] }),
    ...nodes.map((n) => nodePoolPorts(neutron, cluster, n)),
  ]);
  const byId = new Map(lists.flat().map((p) => [p.id, p]));
  // A nested pool port has no device_id until it has joined its trunk.
  return [...byId.values()].filter((p) => p.deviceId.startsWith('nnet-pool-') || p.deviceId === '');
}

/** Makes Neutron's name, device_id and tags say who holds the port (two requests). */
export async function setPortOwner(neutron: NeutronClient, portId: string, owner: PortOwner): Promise<void> {
  await neutron.ports.update(portId, { name: owner.name, deviceId: owner.deviceId });
  await neutron.setTags('ports', portId, owner.tags);
}
