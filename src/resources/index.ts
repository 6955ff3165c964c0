/**
 * The network resource submodule: which Neutron port a pod gets, binding it to a node, releasing
 * it; reserving a static IP ahead of the pod; and connecting as a registered cluster.
 *
 *   const { neutron } = await connect(clusterCredentials(cluster), opts);
 *   const port = await acquirePort(neutron, { pod, containerId, node: 'node1', reservedPortId });
 *   …
 *   await releasePort(neutron, { portId: port.portId, createdByAdd: port.createdByAdd, containerId });
 */

export { type Connection, type ConnectOptions, clusterCredentials, connect } from './cluster.ts';
export { findNetwork, findSubnet } from './lookup.ts';
export {
  type AcquiredPort,
  type AcquireRequest,
  acquirePort,
  addressing,
  containerPorts,
  DEVICE_OWNER,
  describePort,
  isReserved,
  type PodRef,
  type PortAddressing,
  podOfPort,
  podTags,
  portName,
  RESERVED_TAG,
  type ReserveRequest,
  releasePort,
  reservePort,
} from './ports.ts';
