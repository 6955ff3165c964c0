/**
 * A node leaving the cluster, as seen from anywhere (kubenetctl gc --node, another node's agent):
 * what N-Net holds for it in Neutron and the store is released. Pods' ports that ADD made are
 * deleted; static-IP reservations are unbound and kept for the pods' next start elsewhere; the
 * node's own ports leave the node address group and are deleted; its records go. What was on the
 * node itself (OVS ports, its NICs, its netfilter table) is its own agent's sweep to remove if it
 * ever comes back. Safe to repeat: what is gone already is skipped.
 */
import type { NeutronClient } from '../neutron/index.ts';
import { DEVICE_OWNER, isReserved, nodePorts, releaseNodePort, releasePort } from '../resources/index.ts';
import type { Store } from '../store/index.ts';

export interface NodeRelease {
  podPortsDeleted: string[];
  reservationsUnbound: string[];
  nodePortsReleased: string[];
  recordsDeleted: number;
}

export async function releaseNode(
  store: Store,
  neutron: NeutronClient,
  cluster: string,
  node: string,
): Promise<NodeRelease> {
  const done: NodeRelease = {
    podPortsDeleted: [],
    reservationsUnbound: [],
    nodePortsReleased: [],
    recordsDeleted: 0,
  };
  const attachments = (await store.attachments.list({ node })).filter((a) => a.cluster === cluster);
  const bound = await neutron.ports.list({ hostId: node, deviceOwner: DEVICE_OWNER });
  const recorded = new Map(attachments.map((a) => [a.portId, a]));
  for (const port of bound) {
    const a = recorded.get(port.id);
    if (!a && !port.tags.includes('nnet')) continue;
    const createdByAdd = a ? a.portCreatedByAdd : !isReserved(port);
    await releasePort(neutron, { portId: port.id, createdByAdd, containerId: port.deviceId });
    (createdByAdd ? done.podPortsDeleted : done.reservationsUnbound).push(port.id);
  }
  for (const a of attachments) {
    await store.attachments.delete({ containerId: a.containerId, ifname: a.ifname });
    done.recordsDeleted += 1;
  }
  const access = (await store.clusters.get(cluster))?.nodeAccess;
  for (const port of await nodePorts(neutron, cluster, node)) {
    await releaseNodePort(neutron, port, access);
    done.nodePortsReleased.push(port.id);
  }
  if (await store.nodes.delete({ cluster, name: node })) done.recordsDeleted += 1;
  return done;
}
