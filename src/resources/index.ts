/**
 * The network resource submodule: which Neutron port a pod gets, binding it to a node, releasing
 * it; reserving a static IP ahead of the pod; connecting as a registered cluster; the one
 * resolver of a NIC's network, subnets and IPs (target.ts); the one addressing path from a port
 * to what its NIC carries (addressing.ts); and the IP, CIDR, MAC and id helpers (ip.ts).
 *
 *   const { neutron } = await connect(clusterCredentials(cluster), opts);
 *   const t = await resolveNicTarget({ store, cluster, neutron }, { subnet: '1.2.0.0/16' }, { who });
 *   const port = await acquirePort(neutron, { pod, containerId, node: 'node1',
 *     create: { networkId: t.network.id, fixedIps: fixedIpsOf(t) } });
 *   port.ips; port.routes; // the NIC's addressing, as plugged, reported and checked
 *   await releasePort(neutron, { portId: port.portId, createdByAdd: port.createdByAdd, containerId });
 */

export {
  type AddressingInput,
  type AddressingSubnet,
  type NicAddressing,
  type NicIp,
  type NicRoute,
  nicAddressing,
} from './addressing.ts';
export { type Connection, type ConnectOptions, clusterCredentials, connect } from './cluster.ts';
export {
  type Checked,
  type Cidr,
  canonicalCidr,
  canonicalIp,
  checkHostAddress,
  cidrOf,
  cidrsOverlap,
  compareCidrs,
  compareIp,
  containsIp,
  type IfaceAddress,
  type Ip,
  type IpFamily,
  ipFamily,
  ipInCidr,
  isUuid,
  parseCidr,
  parseIfaceAddress,
  parseIp,
  parseMac,
} from './ip.ts';
export {
  type ClusterScope,
  clusterNetworkIds,
  clusterSubnets,
  findManaged,
  ipProblem,
  networkLabel,
  networkProblem,
  notManaged,
  resolveManagedRouter,
  resolveNetwork,
  resolveSubnet,
  subnetContaining,
  subnetLabel,
  subnetMatches,
} from './lookup.ts';
export {
  admitNodePort,
  clusterNodePorts,
  completeNodeAccess,
  createNodeAccess,
  createNodePort,
  deleteNodeAccess,
  findOrCreateNodeAccess,
  isNodePort,
  legacyNodesGroupName,
  NODE_ACCESS_TAG,
  NODE_PORT_OWNER,
  NODE_PORT_TAG,
  type NodeAccess,
  nodeAccessExists,
  nodeOfPort,
  nodePorts,
  nodePortTags,
  pruneNodeRules,
  releaseClusterNodes,
  releaseNodePort,
} from './node-ports.ts';
export {
  createPoolPorts,
  freeClusterPoolPorts,
  heldOwner,
  isPoolPort,
  nodePoolPorts,
  ownerMatches,
  POOL_TAG,
  type PoolPortsRequest,
  type PortOwner,
  poolDeviceId,
  poolOwner,
  setPortOwner,
} from './pool-ports.ts';
export {
  type AcquiredPort,
  type AcquireRequest,
  acquirePort,
  bindReserved,
  containerOfPort,
  containerPorts,
  createPodPort,
  DEVICE_OWNER,
  describePort,
  ensureBound,
  type FixedIpRequest,
  fixedIpsOf,
  isReserved,
  isStrayNestedPort,
  isUntaggedReservation,
  nestedContainerPorts,
  type PodRef,
  podOfPort,
  podTags,
  portName,
  RESERVED_TAG,
  type ReserveRequest,
  releasePort,
  reservationDescription,
  reservedPort,
  reservePort,
} from './ports.ts';
export {
  MAX_POD_SECURITY_GROUPS,
  portGroups,
  resolveSecurityGroups,
} from './security-groups.ts';
export { clusterTag, nodeTag, tagValue } from './tags.ts';
export {
  type NicRequest,
  type NicTarget,
  parseNicIps,
  type ResolveOptions,
  resolveNicTarget,
} from './target.ts';
export {
  addSubport,
  addSubports,
  freeVlan,
  freeVlans,
  leaveAnyTrunk,
  nodeTrunk,
  removeSubport,
  removeSubports,
  SUBPORT_OWNER,
  trunkProblem,
  VLAN_MAX,
  VLAN_MIN,
} from './trunk.ts';
